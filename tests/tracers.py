"""The real sentry-sdk and OpenTelemetry SDK, set up for tests, keeping what they send."""

from __future__ import annotations

import importlib.metadata
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from functools import cache
from typing import Any

from tests.setups.tracers import segments, sentry_spans

SENTRY_DSN = "https://5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e@o1.ingest.example.invalid/2"


@contextmanager
def sentry(*, middleware_spans: bool = False, **options: Any) -> Iterator[list[dict[str, Any]]]:
    """sentry_sdk.init with its Django integration and a transport that keeps what it sends:
    the list it yields gets, once the block ends, one entry per request's root span (see
    tests.setups.tracers.segments), whichever sentry-sdk line runs."""
    import sentry_sdk
    from sentry_sdk.envelope import Envelope
    from sentry_sdk.integrations.django import DjangoIntegration
    from sentry_sdk.transport import Transport

    spans: list[dict[str, Any]] = []

    class KeepTransport(Transport):
        def capture_envelope(self, envelope: Envelope) -> None:
            spans.extend(sentry_spans(envelope))

    sentry_sdk.init(
        transport=KeepTransport,
        integrations=[DjangoIntegration(middleware_spans=middleware_spans)],
        default_integrations=False,
        auto_enabling_integrations=False,
        **{"dsn": SENTRY_DSN, "traces_sample_rate": 1.0, **options},
    )
    roots: list[dict[str, Any]] = []
    try:
        yield roots
    finally:
        sentry_sdk.flush()
        sentry_sdk.get_client().close()
        sentry_sdk.Scope.get_global_scope().set_client(None)  # inactive: the integration goes inert
        roots.extend(segments(spans))


SENTRY_MAJOR = int(importlib.metadata.version("sentry-sdk").partition(".")[0])


def root_span(name: str, incoming: dict[str, str] | None = None) -> AbstractContextManager[Any]:
    """A root span of sentry-sdk's, as each line starts one: a transaction (2.x), a segment
    (3.x); continuing the `incoming` headers, if any."""
    import sentry_sdk

    if SENTRY_MAJOR >= 3:
        if incoming is not None:
            sentry_sdk.continue_trace(incoming)
        return sentry_sdk.start_span(name=name)  # type: ignore[no-any-return]
    if incoming is not None:
        continued = sentry_sdk.continue_trace(incoming, name=name)
        return sentry_sdk.start_transaction(continued)  # type: ignore[attr-defined,no-any-return]
    return sentry_sdk.start_transaction(name=name)  # type: ignore[attr-defined,no-any-return]


def child_span(name: str) -> AbstractContextManager[Any]:
    """A span below the current one, as each line names it."""
    import sentry_sdk

    if SENTRY_MAJOR >= 3:
        return sentry_sdk.start_span(name=name)  # type: ignore[no-any-return]
    try:
        return sentry_sdk.start_span(op="render", name=name)  # type: ignore[no-any-return]
    except TypeError:  # sentry-sdk before 2.15 calls it a description
        return sentry_sdk.start_span(op="render", description=name)  # type: ignore[no-any-return]


def root_traceparent() -> str | None:
    """sentry-sdk's sentry-trace of the request's root span (its transaction or segment)."""
    import sentry_sdk

    span: Any = sentry_sdk.get_current_span()
    if span is None:
        return None
    if SENTRY_MAJOR >= 3:  # no public name for the segment's own sentry-trace
        return str(span._segment._to_traceparent())
    root = span.containing_transaction
    return None if root is None else str(root.to_traceparent())


@cache
def otel_exporter() -> Any:
    """The process's OpenTelemetry TracerProvider (it can be set only once), exporting to memory."""
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    return exporter


def otel_source() -> Any:
    """OpenTelemetry as metatrace's source (W3C tags on), and a tracer of the real SDK."""
    from opentelemetry import trace

    import metatrace

    otel_exporter()
    metatrace.configure(source="opentelemetry", public_key="abc", w3c=True)
    return trace.get_tracer("tests")


def otel_traceparent(span: Any) -> str:
    """The traceparent that names `span`, sampled."""
    context = span.get_span_context()
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-01"


@contextmanager
def otel_django() -> Iterator[Any]:
    """opentelemetry-instrumentation-django on; the exporter of the finished spans."""
    from opentelemetry.instrumentation.django import DjangoInstrumentor

    exporter = otel_exporter()
    exporter.clear()
    DjangoInstrumentor().instrument()
    try:
        yield exporter
    finally:
        DjangoInstrumentor().uninstrument()
