"""metatrace: continue the incoming trace, render it as meta tags, and propagate it.

This module is the public API. The core imports neither Django nor Jinja: the Django app is
`metatrace.middleware`, `{% load metatrace %}` and `metatrace.context_processors`; Jinja's is
`metatrace.jinja`. How the package is laid out: docs/maintainers/design.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final

from markupsafe import Markup

from ._core.active import TraceScope, activate, get_active
from ._core.carriers import read_carrier
from ._core.config import Config, SettingError, configure
from ._core.context import TraceContext
from ._core.names import BAGGAGE, ENV_BAGGAGE, ENV_SENTRY_TRACE, SENTRY_TRACE
from ._pages.responses import HEAD_LIMIT
from ._pages.templating import CachedTraceMetaWarning, elastic_page_load
from ._sources import current

__all__ = [
    "HEAD_LIMIT",
    "CachedTraceMetaWarning",
    "Config",
    "SettingError",
    "TraceContext",
    "TraceScope",
    "configure",
    "continue_trace",
    "current_trace",
    "elastic_page_load",
    "environ",
    "get_active",
    "get_baggage",
    "get_sentry_trace",
    "get_traceparent",
    "propagation_headers",
    "trace_meta",
    "trace_scope",
]


def __dir__() -> list[str]:
    """The public API, not the names this module imports to build it (`Any`, `Mapping`...)."""
    return sorted(__all__)


# No carrier: nothing came in, so a new trace starts.
_NO_CARRIER: Final[Mapping[str, Any]] = MappingProxyType({})


def continue_trace(carrier: Mapping[str, Any] = _NO_CARRIER) -> TraceContext:
    """Continue the trace found in `carrier` (or start one) and make it the active context.

    `carrier` is HTTP headers (any case; str, bytes or lists of repeated values), a WSGI
    environ or `os.environ`; with no argument, a new trace starts. Malformed or hostile values
    never raise: they start a new trace. A carrier that is not a mapping, None included, is a
    programmer error and raises TypeError.
    """
    context = _from(carrier)
    activate(context)
    return context


def trace_scope(carrier: Mapping[str, Any] = _NO_CARRIER) -> TraceScope:
    """Like `continue_trace`, as a context manager that restores the previous context on exit."""
    return TraceScope(_from(carrier))


def _from(carrier: Mapping[str, Any]) -> TraceContext:
    if carrier is _NO_CARRIER:
        return TraceContext()  # most page loads: not even an empty carrier to read
    return TraceContext(*read_carrier(carrier))


def current_trace() -> TraceContext:
    """The trace that the tags and headers carry now: the source's (see SOURCE), or metatrace's
    active context, started if there is none."""
    return current()


def get_sentry_trace() -> str:
    """The outgoing `sentry-trace` value, `TRACEID-SPANID[-0|1]`, of the current trace."""
    return current().sentry_trace


def get_traceparent() -> str:
    """The outgoing `sentry-trace` value: sentry-sdk's name for it (`sentry_sdk.get_traceparent`
    returns the same header), kept for code written against that. The W3C `traceparent` is
    `current_trace().traceparent`."""
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


def environ() -> dict[str, str]:
    """`SENTRY_TRACE` and `SENTRY_BAGGAGE` of the active trace, for a child process's env:

        subprocess.run(cmd, env={**os.environ, **metatrace.environ()})

    The child continues with `metatrace.continue_trace(os.environ)`. SENTRY_BAGGAGE is set even
    when empty, so that a value this process inherited cannot reach the child with a new trace.
    """
    headers = current().headers()
    return {ENV_SENTRY_TRACE: headers[SENTRY_TRACE], ENV_BAGGAGE: headers.get(BAGGAGE, "")}
