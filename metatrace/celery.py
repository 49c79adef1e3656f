"""Celery integration (extra `metatrace-html[celery]`): the trace travels with every task.

    metatrace.celery.connect()   # once, where the Celery app is defined

- `before_task_publish` adds the propagation headers to the message, both at the top level and
  inside the nested `headers`, which is where Celery's protocol 2 keeps custom headers for the
  worker (celery/celery#4875). `baggage` already on the message (a retry re-sends its request's
  headers) is merged, not appended, so retries and chains never grow it.
- `task_prerun` continues the message's trace for the task; `task_postrun` restores the previous
  context. Celery sends `task_postrun` in a `finally`, so failures and retries restore it too.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from contextvars import Token
from typing import Any

from ._core.extras import missing

try:
    from celery import signals  # type: ignore[import-untyped]
except ModuleNotFoundError as error:
    raise missing(error, "metatrace.celery", "celery")  # noqa: B904 (its cause is set)

from ._core.active import activate, deactivate
from ._core.carriers import NOTHING, read_carrier
from ._core.context import TraceContext
from ._core.names import PROPAGATED
from ._sources import current
from .outgoing import inject

_UID = "metatrace.celery"
# Tokens of the contexts activated by task_prerun, by task id, until task_postrun.
_tokens: dict[str, Token[TraceContext | None]] = {}


def connect() -> None:
    """Connect the signal handlers; calling it again does nothing."""
    signals.before_task_publish.connect(_inject, weak=False, dispatch_uid=f"{_UID}.publish")
    signals.task_prerun.connect(_continue, weak=False, dispatch_uid=f"{_UID}.prerun")
    signals.task_postrun.connect(_restore, weak=False, dispatch_uid=f"{_UID}.postrun")


def disconnect() -> None:
    signals.before_task_publish.disconnect(dispatch_uid=f"{_UID}.publish")
    signals.task_prerun.disconnect(dispatch_uid=f"{_UID}.prerun")
    signals.task_postrun.disconnect(dispatch_uid=f"{_UID}.postrun")


def _inject(headers: MutableMapping[str, Any] | None = None, **_: Any) -> None:
    if headers is None:  # protocol 1 messages have no headers to carry a trace
        return
    inject(headers)
    nested = headers.get("headers")
    if not isinstance(nested, MutableMapping):
        nested = headers["headers"] = {}
    for name in PROPAGATED:
        nested.pop(name, None)
    nested.update((name, headers[name]) for name in PROPAGATED if name in headers)


def _continue(task_id: str | None = None, task: Any = None, **_: Any) -> None:
    if task_id is None or task is None:
        return
    raw = read_carrier(_carrier(task.request))
    if raw == NOTHING and getattr(task.request, "is_eager", False):
        # An eager task (task_always_eager, apply()) is never published: it runs here, inside
        # the caller's trace, as a child of it.
        caller = current()
        raw = (caller.sentry_trace, caller.baggage, None, None)
    _tokens[task_id] = activate(TraceContext(*raw))


def _restore(task_id: str | None = None, **_: Any) -> None:
    token = _tokens.pop(task_id, None) if task_id is not None else None
    if token is not None:
        deactivate(token)


def _carrier(request: Any) -> Mapping[str, Any]:
    """The nested custom headers if they carry a trace, else the message's top-level headers
    (which Celery sets as attributes of the task's request)."""
    nested = getattr(request, "headers", None)
    if isinstance(nested, Mapping) and any(name in nested for name in PROPAGATED):
        return nested
    top: Mapping[str, Any] = vars(request)
    return top
