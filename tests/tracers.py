"""The real sentry-sdk and OpenTelemetry SDK, set up for tests, keeping what they send."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

SENTRY_DSN = "https://5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e@o1.ingest.example.invalid/2"


@contextmanager
def sentry(*, middleware_spans: bool = False, **options: Any) -> Iterator[list[dict[str, Any]]]:
    """sentry_sdk.init with its Django integration and a transport that keeps the events."""
    import sentry_sdk
    from sentry_sdk.envelope import Envelope
    from sentry_sdk.integrations.django import DjangoIntegration
    from sentry_sdk.transport import Transport

    events: list[dict[str, Any]] = []

    class KeepTransport(Transport):
        def capture_envelope(self, envelope: Envelope) -> None:
            for item in envelope.items:
                if item.type == "transaction" and item.payload.json is not None:
                    events.append({**item.payload.json, "dsc": envelope.headers.get("trace")})

    sentry_sdk.init(
        dsn=SENTRY_DSN,
        transport=KeepTransport,
        traces_sample_rate=1.0,
        integrations=[DjangoIntegration(middleware_spans=middleware_spans)],
        default_integrations=False,
        auto_enabling_integrations=False,
        **options,
    )
    try:
        yield events
    finally:
        sentry_sdk.flush()
        sentry_sdk.get_client().close()
        sentry_sdk.Scope.get_global_scope().set_client(None)  # inactive: the integration goes inert


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
