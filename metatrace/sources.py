"""Where the active trace comes from: metatrace's own context, or the tracer the site runs.

The `source` setting picks one: "metatrace", "sentry_sdk", "opentelemetry", or "auto", which
takes sentry-sdk while its client is active and one of its spans runs, then OpenTelemetry
while a valid span is current, then metatrace's own. Neither tracer is imported here unless
the application has imported it already (or named it as the source), so "auto" costs two
dictionary lookups when neither is in use.
"""

from __future__ import annotations

import sys
from types import ModuleType
from typing import Any

from . import config as _settings
from . import formats
from .context import SpanContext, TraceContext, get_active, start_active

SENTRY = "sentry_sdk"
OTEL = "opentelemetry"


def current() -> TraceContext:
    """The trace to render and propagate now."""
    source = (_settings.configured or _settings.get_config()).source
    if source != "metatrace" and (
        source != "auto" or SENTRY in sys.modules or "opentelemetry.trace" in sys.modules
    ):  # _tracer_loaded(), inline: this runs for every page
        context = _from_sentry(source) or _from_otel(source)
        if context is not None:
            return context
    return get_active() or start_active()


def _tracer_in_charge() -> str | None:
    """The tracer whose span is current (SENTRY or OTEL), or None when metatrace is in charge."""
    source = _settings.get_config().source
    if source == "metatrace" or (source == "auto" and not _tracer_loaded()):
        return None
    if source in ("auto", SENTRY) and _sentry(source) is not None:
        return SENTRY
    if source in ("auto", OTEL) and _otel_span(source) is not None:
        return OTEL
    return None


def describe() -> str:
    """Which source is in use and why, for the start-up log line."""
    source = _settings.get_config().source
    tracer = _tracer_in_charge()
    if source != "auto":
        return f"source {source!r} (set in the settings)"
    if tracer == SENTRY:
        return "source 'auto': sentry-sdk, because its client is active and a span runs"
    if tracer == OTEL:
        return "source 'auto': OpenTelemetry, because a span is current"
    return (
        "source 'auto': metatrace's own context for now; sentry-sdk takes over while its client "
        "is active and a span runs, OpenTelemetry while a span is current"
    )


def _tracer_loaded() -> bool:
    modules = sys.modules
    return SENTRY in modules or "opentelemetry.trace" in modules


def _module(name: str, required: bool) -> ModuleType | None:
    module = sys.modules.get(name)
    if module is None and required:
        __import__(name)
        module = sys.modules[name]
    return module


def _sentry(source: str) -> Any:
    """sentry_sdk, if it is the source: named in the settings, or under auto while its client
    is active and a span of it runs (its integrations then scope the trace to the request)."""
    if source not in ("auto", SENTRY):
        return None
    sentry_sdk = _module(SENTRY, required=source == SENTRY)
    if sentry_sdk is None:
        return None
    if source == "auto" and not (
        sentry_sdk.get_client().is_active() and sentry_sdk.get_current_span() is not None
    ):
        return None
    return sentry_sdk


def _from_sentry(source: str) -> TraceContext | None:
    sentry_sdk = _sentry(source)
    if sentry_sdk is None:
        return None
    # Its current span, or its propagation context when no span runs.
    parsed = formats.parse_sentry_trace(sentry_sdk.get_traceparent() or "")
    if parsed is None:
        return None
    trace_id, span_id, sampled = parsed
    return SpanContext(trace_id, span_id, sampled, sentry_sdk.get_baggage() or None, exact=True)


def _otel_span(source: str) -> Any:
    if source not in ("auto", OTEL):
        return None
    trace = _module("opentelemetry.trace", required=source == OTEL)
    if trace is None:
        return None
    span_context = trace.get_current_span().get_span_context()
    return span_context if span_context.is_valid else None


def _from_otel(source: str) -> TraceContext | None:
    span_context = _otel_span(source)
    if span_context is None:
        return None
    # Sentry items that arrived in OpenTelemetry's baggage make the DSC; else ours is frozen.
    baggage = sys.modules.get("opentelemetry.baggage")
    entries = baggage.get_all() if baggage is not None else {}
    header = ",".join(
        f"{formats.encode_key(str(key))}={formats.encode_value(str(value))}"
        for key, value in entries.items()
    )
    return SpanContext(
        f"{span_context.trace_id:032x}",
        f"{span_context.span_id:016x}",
        span_context.trace_flags.sampled,
        header or None,
        exact=False,
        tracestate=span_context.trace_state.to_header() or None,
    )
