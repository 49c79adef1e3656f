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
from importlib import metadata
from types import ModuleType
from typing import Any

from . import config as _settings
from . import formats
from .config import Config
from .context import (
    DatadogContext,
    SpanContext,
    TraceContext,
    get_active,
    get_pinned,
    start_active,
)

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
        context = get_pinned() or _from_sentry(source) or _from_otel(source) or _from_other(source)
        if context is not None:
            return context
    return get_active() or start_active()


def rendering() -> TraceContext | None:
    """What a body produced later must render (to `pin` while it is): the trace `current()`
    names now, while the tracer's span runs; None while metatrace's own context is in charge,
    which activating the request's context gives back anyway."""
    source = (_settings.configured or _settings.get_config()).source
    if source == "metatrace" or (source == "auto" and not _tracer_loaded()):
        return None
    return current()


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


# The majors of each tracer that the version matrix tests (its oldest and newest release of
# each); the extras allow these and no later one. (distribution, its module, majors)
TESTED: tuple[tuple[str, str, tuple[int, ...]], ...] = (
    ("sentry-sdk", SENTRY, (2, 3)),
    ("opentelemetry-api", OTEL_TRACE, (1,)),
    ("ddtrace", "ddtrace", (3, 4)),
    ("elastic-apm", "elasticapm", (6,)),
)


def untested() -> list[tuple[str, str, tuple[int, ...]]]:
    """(distribution, version, the majors tested) of each tracer the site has imported that
    is of a major release the matrix has not tested."""
    found: list[tuple[str, str, tuple[int, ...]]] = []
    for distribution, module, majors in TESTED:
        if module not in sys.modules:
            continue
        try:
            version = metadata.version(distribution)
        except metadata.PackageNotFoundError:  # a copy outside any distribution: not ours to say
            continue
        major = version.partition(".")[0]
        if not (major.isdigit() and int(major) in majors):
            found.append((distribution, version, majors))
    return found


_untested_said = False


def warn_untested() -> None:
    """Say once, at start-up, which tracer runs at a major release that is not tested."""
    global _untested_said
    if _untested_said:
        return
    _untested_said = True
    for distribution, version, majors in untested():
        tested = " and ".join(f"{major}.x" for major in majors)
        logger.warning(
            "metatrace: %s %s is a major release that metatrace has not been tested with (it is "
            "tested with %s). The pages may name the wrong span; run `python -m metatrace "
            "check` on a page, and see the README for the supported releases.",
            distribution,
            version,
            tested,
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
    # The root of the request's span tree (the transaction, or the segment): the request's own
    # span. The span current while a template renders is a child of it (sentry-sdk's render
    # span, a middleware span) that has ended before the page loads, and would differ from
    # the one current when the response leaves. With no span, or with tracing off, what
    # sentry-sdk itself propagates: its propagation context.
    root = _sentry_root(sentry_sdk)
    if root is not None:
        trace_id, span_id, sampled = root
    else:
        parsed = formats.parse_sentry_trace(sentry_sdk.get_traceparent() or "")
        if parsed is None:
            return None
        trace_id, span_id, sampled = parsed
    return SpanContext(
        trace_id,
        span_id,
        sampled,
        sentry_sdk.get_baggage() or None,
        exact=True,
        own_dsc=_sentry_settings,
    )


def _sentry_root(sentry_sdk: Any) -> tuple[str, str, bool | None] | None:
    """The ids and sampling flag of the root of sentry-sdk's current span tree, by its line's
    adapter; None when no span runs, tracing is off, or the ids are not ids."""
    client = sentry_sdk.get_client()
    options = getattr(client, "options", None) or {}
    if options.get("traces_sample_rate") is None and options.get("traces_sampler") is None:
        return None  # tracing off: sentry-sdk propagates its propagation context
    global _sentry_line
    if _sentry_line is None:
        _sentry_line = _SENTRY_LINES.get(_major(sentry_sdk), _root_of_segment)
    root = _sentry_line(sentry_sdk)
    if root is None:
        return None
    trace_id, span_id, sampled = root.trace_id, root.span_id, root.sampled
    if not (formats.is_id(trace_id, 32) and formats.is_id(span_id, 16)):
        logger.debug("metatrace: ignoring sentry-sdk's span with ids %.200r", (trace_id, span_id))
        return None
    return trace_id, span_id, sampled if sampled is None else bool(sampled)


def _root_of_transaction(sentry_sdk: Any) -> Any:  # pragma: no cover (sentry-sdk 2: the matrix)
    """sentry-sdk 2.x: the transaction of the current span, or the segment of a streamed span
    (its `trace_lifecycle="stream"` option, 2.x's preview of 3.x). The matrix's sessions of
    sentry-sdk 2 run it (tools/matrix.py); .venv, whose coverage is counted, has 3."""
    span = sentry_sdk.get_current_span()
    if span is not None:
        return getattr(span, "containing_transaction", None)  # None for a NoOpSpan
    current_scope = getattr(sentry_sdk, "get_current_scope", None)  # sentry-sdk 2.12 and later
    streamed = getattr(current_scope(), "streamed_span", None) if current_scope else None
    return None if streamed is None else getattr(streamed, "_segment", None)


def _root_of_segment(sentry_sdk: Any) -> Any:
    """sentry-sdk 3.x ("Span First"): the segment of the current span, the request's root
    span. (An unsampled segment is a NoOpSpan: its ids are the ones sentry-sdk propagates.)"""
    span = sentry_sdk.get_current_span()
    return None if span is None else getattr(span, "_segment", None)


# sentry-sdk's major -> which span is the request's root; a newer major is tried as the newest.
_SENTRY_LINES = {2: _root_of_transaction, 3: _root_of_segment}
_sentry_line: Any = None


def _major(module: Any) -> int:
    major = str(getattr(module, "VERSION", "")).partition(".")[0]
    return int(major) if major.isdigit() else 0


def _sentry_settings(config: Config) -> Config:
    """The settings of a DSC that metatrace freezes for sentry-sdk's trace (when the one that
    sentry-sdk holds belongs to another trace): its client's key, release, environment and
    rate, where metatrace's own settings name none."""
    sentry_sdk = sys.modules.get(SENTRY)
    options = getattr(sentry_sdk.get_client(), "options", None) if sentry_sdk else None
    options = options if isinstance(options, dict) else {}
    key = (config, *(options.get(name) for name in _SENTRY_OPTIONS))
    if _sentry_derived[0] != key:
        _sentry_derived[:] = [key, _derived(config, options)]
    derived: Config = _sentry_derived[1]
    return derived


_SENTRY_OPTIONS = ("dsn", "release", "environment", "traces_sample_rate")
_sentry_derived: list[Any] = [None, None]  # (config, options) and the settings made of them


def _derived(config: Config, options: dict[str, Any]) -> Config:
    dsn, release, environment, rate = (options.get(name) for name in _SENTRY_OPTIONS)
    if config.public_key is not None or not isinstance(dsn, str):
        return config
    try:
        key, org = _settings.parse_dsn(dsn)
    except _settings.SettingError:
        return config
    return config._replace(
        public_key=key,
        org_id=config.org_id or org,
        release=config.release or (release if isinstance(release, str) else None),
        environment=config.environment
        or (environment if isinstance(environment, str) and environment else "production"),
        traces_sample_rate=config.traces_sample_rate
        if config.traces_sample_rate is not None or not isinstance(rate, (int, float))
        else float(rate),
    )


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
        _not_recording(DDTRACE, _DDTRACE_DISABLED)
        return None
    root = tracer.current_root_span()
    if root is None:
        django = sys.modules.get("django")
        if django is not None and not getattr(django, "_datadog_patch", False):
            _not_recording(DDTRACE, _DDTRACE_UNPATCHED)
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
    elasticapm = _module(ELASTICAPM, required=True)
    from elasticapm.traces import execution_context

    transaction = execution_context.get_transaction()
    if transaction is None or transaction.trace_parent is None:
        _why_no_elastic_transaction(elasticapm)
        return None
    parent = transaction.trace_parent
    # The span id the agent hands the RUM agent is the incoming parent id, unchecked too.
    ids = (parent.trace_id, transaction.id, parent.span_id)
    if not all(map(formats.is_id, ids, (32, 16, 16))):
        logger.debug("metatrace: ignoring the Elastic APM transaction with ids %.200r", ids)
        return None
    return transaction


def _why_no_elastic_transaction(elasticapm: Any) -> None:
    """Warn when the agent records nothing at all (no transaction is also what a Celery task
    or a management command has, and that says nothing)."""
    client = elasticapm.get_client()
    if client is None:
        _not_recording(ELASTICAPM, _ELASTIC_NO_CLIENT)
        return
    django = sys.modules.get("django.conf")
    settings = getattr(django, "settings", None)
    debug = settings is not None and settings.configured and settings.DEBUG is True
    if debug and not getattr(client.config, "debug", False):
        _not_recording(ELASTICAPM, _ELASTIC_DEBUG)


# Why a tracer named as SOURCE records nothing, and the fix: the page then carries
# metatrace's own trace, which that tracer never sends.
_DDTRACE_DISABLED = (
    "dd-trace-py is disabled (DD_TRACE_ENABLED is false). Enable it, or set SOURCE to 'metatrace'."
)
_DDTRACE_UNPATCHED = (
    "dd-trace-py's Django integration is not on. Start the server under `ddtrace-run`, or call "
    "ddtrace.patch(django=True) (or `import ddtrace.auto`) before Django loads."
)
_ELASTIC_NO_CLIENT = (
    "Elastic's agent is not running. Add 'elasticapm.contrib.django' to INSTALLED_APPS, with "
    "its ELASTIC_APM settings."
)
_ELASTIC_DEBUG = (
    "Django's DEBUG is True, and Elastic's agent records nothing then unless its own DEBUG "
    "option is on. Set ELASTIC_APM['DEBUG'] = True, or DEBUG = False."
)
_said: set[str] = set()


def _not_recording(source: str, why: str) -> None:
    """Say once, at WARNING, why the tracer named as SOURCE records nothing."""
    if why in _said:
        return
    _said.add(why)
    logger.warning(
        "metatrace: SOURCE is %r, but %s Until then the pages carry metatrace's own trace, "
        "which that tracer never sends.",
        source,
        why,
    )


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
