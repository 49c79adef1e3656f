"""Where the active trace comes from: metatrace's own context, or the tracer the site runs.

The `source` setting picks one: "metatrace", "sentry_sdk", "opentelemetry", or "auto", which
takes sentry-sdk while its client is active and one of its spans runs, then OpenTelemetry
while a valid span is current, then metatrace's own. Neither tracer is imported here unless
the application has imported it already (or named it as the source), so "auto" costs two
dictionary lookups when neither is in use.
"""

from __future__ import annotations

import logging
import sys
from contextvars import ContextVar, Token
from types import ModuleType
from typing import Any

from . import config as _settings
from . import formats
from .context import DatadogContext, SpanContext, TraceContext, get_active, start_active

logger = logging.getLogger("metatrace")

SENTRY = "sentry_sdk"
OTEL = "opentelemetry"
OTEL_TRACE = "opentelemetry.trace"


def current() -> TraceContext:
    """The trace to render and propagate now."""
    source = (_settings.configured or _settings.get_config()).source
    if source != "metatrace" and (
        source != "auto" or SENTRY in sys.modules or "opentelemetry.trace" in sys.modules
    ):  # _tracer_loaded(), inline: this runs for every page
        context = _from_sentry(source) or _from_otel(source) or _from_other(source)
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
    # The root span of the running transaction: the request's own span. The span current
    # while a template renders is a child of it (sentry-sdk's render span, a middleware
    # span) that has ended before the page loads, and would differ from the one current when
    # the response leaves. With no span, sentry-sdk's propagation context.
    traceparent = sentry_sdk.get_traceparent() or ""
    root = _sentry_root(sentry_sdk)
    if root is not None and traceparent.startswith(root.trace_id):
        # (With tracing off, sentry-sdk propagates its propagation context, not the span's.)
        traceparent = f"{root.trace_id}-{root.span_id}{_SENTRY_FLAGS.get(root.sampled, '')}"
    parsed = formats.parse_sentry_trace(traceparent)
    if parsed is None:
        return None
    trace_id, span_id, sampled = parsed
    return SpanContext(trace_id, span_id, sampled, sentry_sdk.get_baggage() or None, exact=True)


_SENTRY_FLAGS = {True: "-1", False: "-0"}


def _sentry_root(sentry_sdk: Any) -> Any:
    """The root of sentry-sdk's current span tree: its transaction, or the segment of a
    streamed span (`trace_lifecycle="stream"`); None when no span runs."""
    span = sentry_sdk.get_current_span()
    if span is not None:
        return getattr(span, "containing_transaction", None)  # None for a NoOpSpan
    current_scope = getattr(sentry_sdk, "get_current_scope", None)  # sentry-sdk 2.12 and later
    streamed = getattr(current_scope(), "streamed_span", None) if current_scope else None
    return None if streamed is None else getattr(streamed, "_segment", None)


def _otel_span(source: str) -> Any:
    if source not in ("auto", OTEL):
        return None
    trace = _module("opentelemetry.trace", required=source == OTEL)
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
    source = (_settings.configured or _settings.get_config()).source
    span_context = _otel_span(source)
    return None if span_context is None else _request_span.set(span_context)


def unpin_request_span(token: Token[Any] | None) -> None:
    if token is not None:
        _request_span.reset(token)


def _from_otel(source: str) -> TraceContext | None:
    span_context = _otel_span(source)
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


# The tracers that only a source named in the settings reads ("auto" does not look for them).
DDTRACE = "ddtrace"
ELASTICAPM = "elasticapm"


def _from_other(source: str) -> TraceContext | None:
    if source == DDTRACE:
        return _from_ddtrace()
    if source == ELASTICAPM:
        return _from_elasticapm()
    return None


def _from_ddtrace() -> TraceContext | None:
    """The root span of dd-trace-py's current trace (the request's, under its Django
    integration), with its sampling decision taken, as its propagator would take it."""
    ddtrace = _module(DDTRACE, required=True)
    tracer: Any = getattr(ddtrace, "tracer", None)
    if tracer is None or not tracer.enabled:  # DD_TRACE_ENABLED=false: a trace never sent
        return None
    root = tracer.current_root_span()
    if root is None:
        return None
    context = root.context
    if context.sampling_priority is None:
        tracer.sample(root)
    priority = context.sampling_priority
    trace_id = f"{root.trace_id:032x}"
    return DatadogContext(
        trace_id,
        f"{root.span_id:016x}",
        None if priority is None else priority > 0,
        _request_baggage(trace_id),
        exact=False,
    )


def _request_baggage(trace_id: str) -> str | None:
    """The request's incoming baggage (its DSC, the third-party members), which dd-trace-py
    and Elastic's agent do not hand on, when the tracer continued the trace that came in."""
    active = get_active()
    return None if active is None else active.incoming_baggage(trace_id)


def _from_elasticapm() -> TraceContext | None:
    """The Elastic APM agent's current transaction (the request's, under its Django app)."""
    transaction = _elastic_transaction()
    if transaction is None:
        return None
    trace_id = transaction.trace_parent.trace_id
    return SpanContext(
        trace_id, transaction.id, transaction.is_sampled, _request_baggage(trace_id), exact=False
    )


def _elastic_transaction() -> Any:
    """The agent's transaction, if its ids are what they must be. The agent takes the trace
    id of an incoming `elastic-apm-traceparent` without checking it (6.26 rendered
    "<svg onload=...>" as one): such a trace is not rendered, and metatrace's own is."""
    _module(ELASTICAPM, required=True)
    from elasticapm.traces import execution_context

    transaction = execution_context.get_transaction()
    if transaction is None or transaction.trace_parent is None:
        return None
    parent = transaction.trace_parent
    # The span id the agent hands the RUM agent is the incoming parent id, unchecked too.
    ids = (parent.trace_id, transaction.id, parent.span_id)
    if not all(map(formats.is_id, ids, (32, 16, 16))):
        logger.debug("metatrace: ignoring the Elastic APM transaction with ids %.200r", ids)
        return None
    return transaction


def elastic_page_load_values() -> dict[str, Any] | None:
    """What Elastic's RUM agent takes in its init config to make the browser's page load part
    of the request's trace: the trace id, the id the server reserves for the browser's span
    of the document (it becomes the parent of the server's transaction, as Elastic's agents
    do it), and the sampling decision. None unless SOURCE is "elasticapm" and a transaction
    runs."""
    if (_settings.configured or _settings.get_config()).source != ELASTICAPM:
        return None
    transaction = _elastic_transaction()
    if transaction is None:
        return None
    return {
        "pageLoadTraceId": transaction.trace_parent.trace_id,
        "pageLoadSpanId": transaction.ensure_parent_id(),
        "pageLoadSampled": bool(transaction.is_sampled),
    }
