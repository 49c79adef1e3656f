"""sentry-sdk as the source: the request's root span, by an adapter per line.

Each line answers one question its own way: which span is the request's root. sentry-sdk 2
has transactions (`containing_transaction`); sentry-sdk 3 ("Span First") streams spans, and
the root is the segment (`_segment`). The adapter is picked once, by sentry-sdk's major.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from .._core import config as configuration
from .._core import formats
from .._core.config import Config
from .._core.context import SpanContext, TraceContext
from .tracers import module

logger = logging.getLogger("metatrace")

SENTRY = "sentry_sdk"  # the source's name, and the module's


def sentry(source: str) -> Any:
    """sentry_sdk, if it is the source: named in the settings, or under auto while its client
    is active and a span of it runs (its integrations then scope the trace to the request)."""
    if source not in ("auto", SENTRY):
        return None
    sentry_sdk = module(SENTRY, required=source == SENTRY)
    if sentry_sdk is None:
        return None
    if source == "auto" and not (
        sentry_sdk.get_client().is_active() and sentry_sdk.get_current_span() is not None
    ):
        return None
    return sentry_sdk


def from_sentry(source: str) -> TraceContext | None:
    sentry_sdk = sentry(source)
    if sentry_sdk is None:
        return None
    # The root of the request's span tree (the transaction, or the segment): the request's own
    # span. The span current while a template renders is a child of it (sentry-sdk's render
    # span, a middleware span) that has ended before the page loads, and would differ from
    # the one current when the response leaves. With no span, or with tracing off, what
    # sentry-sdk itself propagates: its propagation context.
    root = _root(sentry_sdk)
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


def _root(sentry_sdk: Any) -> tuple[str, str, bool | None] | None:
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
        key, org = configuration.parse_dsn(dsn)
    except configuration.SettingError:
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
