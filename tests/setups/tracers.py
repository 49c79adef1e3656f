"""The real tracers of a setup's server process, recording what they would send into the file
named by SETUP_RECORD (one JSON object a line), for the test to read back."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from typing import Any

SENTRY_DSN = "https://5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e@o1.ingest.example.invalid/2"


def _record(entry: dict[str, Any]) -> None:
    with open(os.environ["SETUP_RECORD"], "a", encoding="utf-8") as file:
        file.write(json.dumps(entry) + "\n")


def start_sentry(integration: Any) -> None:
    """sentry_sdk.init as its docs show it, with `integration`, keeping each span (either line:
    see `sentry_spans`)."""
    import sentry_sdk
    from sentry_sdk.envelope import Envelope
    from sentry_sdk.transport import Transport

    class RecordingTransport(Transport):
        def capture_envelope(self, envelope: Envelope) -> None:
            for span in sentry_spans(envelope):
                _record(span)

    sentry_sdk.init(
        dsn=SENTRY_DSN,
        transport=RecordingTransport,
        traces_sample_rate=1.0,
        integrations=[integration],
    )


def sentry_spans(envelope: Any) -> list[dict[str, Any]]:
    """Every span that a sentry-sdk envelope carries, whichever line made it: 2.x sends a
    transaction with its child spans, 3.x ("Span First") streams spans, each naming its
    segment. Each span: name, trace_id, span_id, parent_span_id, segment_id (the span id of
    the transaction or segment), and dsc (the envelope's)."""
    dsc = envelope.headers.get("trace")
    spans: list[dict[str, Any]] = []
    for item in envelope.items:
        payload = item.payload.json
        if payload is None:
            continue
        if item.type == "transaction":
            trace = payload["contexts"]["trace"]
            root = trace["span_id"]
            spans.append(
                _span(payload.get("transaction"), trace, root, dsc)
                | {"parent_span_id": trace.get("parent_span_id")}
            )
            spans += [
                _span(child.get("description"), child, root, dsc)
                for child in payload.get("spans", [])
            ]
        elif item.type == "span":
            for span in payload.get("items", []):
                segment = (span.get("attributes") or {}).get("sentry.segment.id", {})
                spans.append(_span(span.get("name"), span, segment.get("value"), dsc))
    return spans


def _span(name: str | None, span: dict[str, Any], segment: str, dsc: Any) -> dict[str, Any]:
    return {
        "name": name,
        "trace_id": span["trace_id"],
        "span_id": span["span_id"],
        "parent_span_id": span.get("parent_span_id"),
        "segment_id": segment,
        "dsc": dsc,
    }


def segments(spans: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The spans grouped by the request's root span (the transaction or segment): for each,
    the root's fields and `spans`, {span id: parent span id} of every span below it."""
    roots = {
        span["span_id"]: dict(span, spans={})
        for span in spans
        if span["segment_id"] == span["span_id"]
    }
    for span in spans:
        root = roots.get(span["segment_id"])
        if root is not None and span["span_id"] != root["span_id"]:
            root["spans"][span["span_id"]] = span["parent_span_id"]
    return list(roots.values())


def start_otel() -> None:
    """An OpenTelemetry SDK whose every finished span is recorded."""
    from opentelemetry import trace
    from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

    class RecordingExporter(SpanExporter):
        def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
            for span in spans:
                context = span.get_span_context()
                assert context is not None
                _record(
                    {
                        "name": span.name,
                        "kind": span.kind.name,
                        "trace_id": f"{context.trace_id:032x}",
                        "span_id": f"{context.span_id:016x}",
                        "parent_span_id": f"{span.parent.span_id:016x}" if span.parent else None,
                    }
                )
            return SpanExportResult.SUCCESS

    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(RecordingExporter()))
    trace.set_tracer_provider(provider)


def start_ddtrace() -> None:
    """dd-trace-py on Django, as its docs show it (before Django loads), recording each
    finished span instead of sending it to an agent."""
    os.environ.setdefault("DD_TRACE_AGENT_URL", "http://127.0.0.1:9")  # nothing is sent
    os.environ.setdefault("DD_INSTRUMENTATION_TELEMETRY_ENABLED", "false")
    os.environ.setdefault("DD_REMOTE_CONFIGURATION_ENABLED", "false")
    import ddtrace
    from ddtrace.trace import TraceFilter, tracer

    ddtrace.patch(django=True)

    class Recorder(TraceFilter):
        def process_trace(self, trace: Any) -> None:
            for span in trace:
                _record(
                    {
                        "name": span.name,
                        "trace_id": f"{span.trace_id:032x}",
                        "span_id": f"{span.span_id:016x}",
                        "parent_span_id": f"{span.parent_id:016x}" if span.parent_id else None,
                    }
                )
            # None: the trace goes no further, to no writer.

    tracer.configure(trace_processors=[Recorder()])
