"""metatrace: continue the incoming trace, render it as meta tags, and propagate it.

The core imports neither Django nor Jinja; see `metatrace.middleware` and `metatrace.jinja`.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final

from markupsafe import Markup

from .carriers import read_carrier
from .config import Config, configure
from .context import Scope, TraceContext, activate, get_active
from .envvars import environ
from .sources import current
from .templating import elastic_page_load

__all__ = [
    "Config",
    "TraceContext",
    "configure",
    "continue_trace",
    "current_trace",
    "elastic_page_load",
    "environ",
    "get_active",
    "get_baggage",
    "get_traceparent",
    "propagation_headers",
    "trace_meta",
    "trace_scope",
]


def __dir__() -> list[str]:
    """The public API, not the names this module imports to build it (`Any`, `Mapping`...)."""
    return sorted(__all__)


# No carrier: nothing came in, so a new trace starts.
_NOTHING: Final[Mapping[str, Any]] = MappingProxyType({})


def continue_trace(carrier: Mapping[str, Any] = _NOTHING) -> TraceContext:
    """Continue the trace found in `carrier` (or start one) and make it the active context.

    `carrier` is HTTP headers (any case; str, bytes or lists of repeated values), a WSGI
    environ or `os.environ`; with no argument, a new trace starts. Malformed or hostile values
    never raise: they start a new trace. A carrier that is not a mapping, None included, is a
    programmer error and raises TypeError.
    """
    context = _from(carrier)
    activate(context)
    return context


def trace_scope(carrier: Mapping[str, Any] = _NOTHING) -> Scope:
    """Like `continue_trace`, as a context manager that restores the previous context on exit."""
    return Scope(_from(carrier))


def _from(carrier: Mapping[str, Any]) -> TraceContext:
    if carrier is _NOTHING:
        return TraceContext()  # most page loads: not even an empty carrier to read
    return TraceContext(*read_carrier(carrier))


def current_trace() -> TraceContext:
    """The trace that the tags and headers carry now: the source's (see SOURCE), or metatrace's
    active context, started if there is none."""
    return current()


def get_traceparent() -> str:
    """The outgoing `sentry-trace` value, `TRACEID-SPANID[-0|1]`, of the current trace."""
    return current().sentry_trace


def get_baggage() -> str:
    """The outgoing `baggage` value of the active context (sentry items, then third-party)."""
    return current().baggage


def propagation_headers() -> dict[str, str]:
    """Outgoing request headers: `sentry-trace`, `baggage`, and `traceparent` if W3C is on."""
    return current().headers()


def trace_meta() -> Markup:
    """The escaped `<meta>` tags of the active context."""
    return current().meta()
