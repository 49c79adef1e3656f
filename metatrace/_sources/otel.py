"""OpenTelemetry as the source: the current span, and the request's span pinned as the
request enters the middleware (a span started inside it is its child)."""

from __future__ import annotations

import sys
from contextvars import ContextVar, Token
from typing import Any

from .._core import config as configuration
from .._core import formats
from .._core.context import SpanContext, TraceContext
from .tracers import module

OTEL = "opentelemetry"  # the source's name
OTEL_TRACE = "opentelemetry.trace"  # the module that says a span is current


def otel_span(source: str) -> Any:
    if source not in ("auto", OTEL):
        return None
    trace = module(OTEL_TRACE, required=source == OTEL)
    if trace is None:
        return None
    span_context = trace.get_current_span().get_span_context()
    return span_context if span_context.is_valid else None


# The OpenTelemetry span current when the request entered the middleware: the server span of
# its instrumentation. A span started inside the view (a render span, a user's) is its child.
_request_span: ContextVar[Any] = ContextVar("metatrace_request_span", default=None)


def pin_request_span() -> Token[Any] | None:
    """Called as a request enters the middleware: while it runs, the tags and headers name
    the OpenTelemetry span current now, whichever child span is current when they render.
    None (nothing pinned) unless OpenTelemetry is the source or may be."""
    if OTEL_TRACE not in sys.modules:
        return None  # no span can be current
    source = (configuration.configured or configuration.get_config()).source
    span_context = otel_span(source)
    return None if span_context is None else _request_span.set(span_context)


def unpin_request_span(token: Token[Any] | None) -> None:
    if token is not None:
        _request_span.reset(token)


def from_otel(source: str) -> TraceContext | None:
    span_context = otel_span(source)
    if span_context is None:
        return None
    pinned = _request_span.get()
    if pinned is not None and pinned.trace_id == span_context.trace_id:
        span_context = pinned  # the request's span, not a child that ends before the page loads
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
