"""The active trace of the current request, thread or asyncio task, and the one a streamed
body renders: each a ContextVar, so isolated per thread and per task for free.

The hot paths call the variables' own methods (`get_active`, `activate`...), not wrappers: a
bound method of a C type costs no Python frame.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar, Token
from types import TracebackType

from .context import TraceContext

_active: ContextVar[TraceContext | None] = ContextVar("metatrace_active", default=None)
get_active: Callable[[], TraceContext | None] = _active.get
activate: Callable[[TraceContext], Token[TraceContext | None]] = _active.set
deactivate: Callable[[Token[TraceContext | None]], None] = _active.reset

# The context a streamed body renders, pinned when its response left: a server iterates the
# body after the tracer's span has ended (gunicorn), and the tags must name that span still.
# Read only while a tracer may be in charge (see metatrace._sources.current).
_pinned: ContextVar[TraceContext | None] = ContextVar("metatrace_pinned", default=None)
get_pinned: Callable[[], TraceContext | None] = _pinned.get
pin: Callable[[TraceContext | None], Token[TraceContext | None]] = _pinned.set
unpin: Callable[[Token[TraceContext | None]], None] = _pinned.reset


class TraceScope:
    """`with trace_scope(...) as context:` activates a context and restores the previous one."""

    __slots__ = ("_token", "context")

    def __init__(self, context: TraceContext) -> None:
        self.context = context
        self._token: Token[TraceContext | None] | None = None

    def __enter__(self) -> TraceContext:
        if self._token is not None:
            raise RuntimeError("metatrace: a trace_scope() can be entered only once")
        self._token = _active.set(self.context)
        return self.context

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._token is not None:
            _active.reset(self._token)
