"""Where the active trace comes from: metatrace's own context, or the tracer the site runs.

The `source` setting picks one: "metatrace", "sentry_sdk", "opentelemetry", "ddtrace",
"elasticapm", or "auto", which takes sentry-sdk while its client is active and one of its
spans runs, then OpenTelemetry while a valid span is current, then metatrace's own. Each
tracer has a module of its own here; none is imported unless the application has imported it
already (or named it as the source), so "auto" costs two dictionary lookups when neither is
in use.
"""

from __future__ import annotations

import logging
import sys
from importlib import metadata

from .._core import config as configuration
from .._core.active import activate, get_active, get_pinned
from .._core.context import TraceContext
from .ddtrace import DDTRACE, from_ddtrace
from .elastic import ELASTICAPM, elastic_page_load_values, from_elasticapm
from .otel import OTEL, OTEL_TRACE, from_otel, otel_span, pin_request_span, unpin_request_span
from .sentry import SENTRY, from_sentry, sentry

__all__ = [
    "ELASTICAPM",
    "OTEL",
    "OTEL_TRACE",
    "TESTED",
    "current",
    "describe",
    "elastic_page_load_values",
    "pin_request_span",
    "rendering",
    "unpin_request_span",
    "untested",
    "warn_untested",
]

logger = logging.getLogger("metatrace")


def current() -> TraceContext:
    """The trace to render and propagate now."""
    source = (configuration.configured or configuration.get_config()).source
    if source != "metatrace" and (
        source != "auto" or SENTRY in sys.modules or "opentelemetry.trace" in sys.modules
    ):  # _tracer_loaded(), inline: this runs for every page
        context = get_pinned() or from_sentry(source) or from_otel(source) or _from_named(source)
        if context is not None:
            return context
    return get_active() or _start_active()


def _start_active() -> TraceContext:
    """Start a trace and make it active here: for when no context is."""
    context = TraceContext()
    activate(context)
    return context


def _from_named(source: str) -> TraceContext | None:
    """The tracers that only a source named in the settings reads ("auto" does not look)."""
    if source == DDTRACE:
        return from_ddtrace()
    if source == ELASTICAPM:
        return from_elasticapm()
    return None


def rendering() -> TraceContext | None:
    """What a body produced later must render (to `pin` while it is): the trace `current()`
    names now, while the tracer's span runs; None while metatrace's own context is in charge,
    which activating the request's context gives back anyway."""
    source = (configuration.configured or configuration.get_config()).source
    if source == "metatrace" or (source == "auto" and not _tracer_loaded()):
        return None
    return current()


def _tracer_in_charge() -> str | None:
    """The tracer whose span is current (SENTRY or OTEL), or None when metatrace is in charge."""
    source = configuration.get_config().source
    if source == "metatrace" or (source == "auto" and not _tracer_loaded()):
        return None
    if source in ("auto", SENTRY) and sentry(source) is not None:
        return SENTRY
    if source in ("auto", OTEL) and otel_span(source) is not None:
        return OTEL
    return None


def describe() -> str:
    """Which source is in use and why, for the start-up log line."""
    source = configuration.get_config().source
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
