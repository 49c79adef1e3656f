"""Run the sample site under the tracer that METATRACE_SOURCE names, to see metatrace render
that tracer's trace: `METATRACE_SOURCE=sentry_sdk make run`, or `=opentelemetry`.

Nothing leaves the machine: sentry-sdk gets a transport that only logs what it would send,
and OpenTelemetry a span processor that only logs the spans.
"""

from __future__ import annotations

import logging

from django.conf import settings

logger = logging.getLogger("sample_site")


def start_tracer() -> None:
    source = settings.METATRACE.get("SOURCE")
    if source == "sentry_sdk":
        _start_sentry()
    elif source == "opentelemetry":
        _start_otel()


def _start_sentry() -> None:
    import sentry_sdk
    from sentry_sdk.envelope import Envelope
    from sentry_sdk.integrations.django import DjangoIntegration
    from sentry_sdk.transport import Transport

    class LogTransport(Transport):
        def capture_envelope(self, envelope: Envelope) -> None:
            for item in envelope.items:
                logger.info("sentry-sdk would send a %s (trace %s)", item.type, envelope.headers)

    sentry_sdk.init(
        dsn=str(settings.METATRACE.get("DSN") or settings.SAMPLE_BROWSER["DSN"]),
        transport=LogTransport,
        traces_sample_rate=1.0,
        integrations=[DjangoIntegration()],
    )


def _start_otel() -> None:
    from opentelemetry import trace
    from opentelemetry.instrumentation.django import DjangoInstrumentor
    from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider

    class LogSpans(SpanProcessor):
        def on_end(self, span: ReadableSpan) -> None:
            logger.info(
                "OpenTelemetry finished span %s (trace %032x)", span.name, span.context.trace_id
            )

    provider = TracerProvider()
    provider.add_span_processor(LogSpans())
    trace.set_tracer_provider(provider)
    DjangoInstrumentor().instrument()
