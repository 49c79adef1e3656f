"""Whether tags are withheld now: true while the middleware streams a page that a shared cache
may store. A stream is never held back to strip its tags, so every tag rendered into it is
rendered as nothing instead; the trace stays active, for outgoing headers. A ContextVar, whose
own methods the hot paths call (a bound method of a C type costs no Python frame)."""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar, Token

_withheld: ContextVar[bool] = ContextVar("metatrace_tags_withheld", default=False)
tags_withheld: Callable[[], bool] = _withheld.get
withhold_tags: Callable[[bool], Token[bool]] = _withheld.set
release_tags: Callable[[Token[bool]], None] = _withheld.reset
