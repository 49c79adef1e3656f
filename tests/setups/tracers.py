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
    """sentry_sdk.init as its docs show it, with `integration`, keeping each transaction."""
    import sentry_sdk
    from sentry_sdk.envelope import Envelope
    from sentry_sdk.transport import Transport

    class RecordingTransport(Transport):
        def capture_envelope(self, envelope: Envelope) -> None:
            for item in envelope.items:
                payload = item.payload.json
                if item.type == "transaction" and payload is not None:
                    trace = payload["contexts"]["trace"]
                    _record(
                        {
                            "transaction": payload.get("transaction"),
                            "trace_id": trace["trace_id"],
                            "span_id": trace["span_id"],
                            "parent_span_id": trace.get("parent_span_id"),
                            "spans": [span["span_id"] for span in payload.get("spans", [])],
                        }
                    )

    sentry_sdk.init(
        dsn=SENTRY_DSN,
        transport=RecordingTransport,
        traces_sample_rate=1.0,
        integrations=[integration],
    )


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
