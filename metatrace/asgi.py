"""ASGI middleware for apps other than Django's (Starlette, FastAPI, Quart, ...).

    app.add_middleware(metatrace.asgi.TraceMiddleware)          # Starlette, FastAPI
    app = metatrace.asgi.TraceMiddleware(app)                    # any ASGI app

The app sends the whole response, streamed or not, before its call returns, so the context is
restored right after it. HTML pages get this request's trace, and no one else's, as
_pages/responses.py decides.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from ._core.active import activate, deactivate
from ._core.carriers import read_header_pairs
from ._core.context import TraceContext
from ._pages.responses import (
    HEAD_LIMIT,
    OutgoingPage,
    changed_headers,
    head_seen,
    header_map,
    read_page,
)
from ._sources import pin_request_span, unpin_request_span, warn_untested

ASGIScope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[ASGIScope, Receive, Send], Awaitable[None]]

SCOPE_KEY = "metatrace"


class TraceMiddleware:
    """Continues the trace from each HTTP or WebSocket request's headers for the app call.

    The context is also at `scope["metatrace"]`. Like the Django middleware, it gives each
    HTML page this request's trace (Server-Timing, stale tags, `inject`) and removes it from
    pages that a shared cache may store (`strip_cacheable`): see _pages/responses.py.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        warn_untested()  # at start-up: a tracer of a major not tested

    async def __call__(self, scope: ASGIScope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        context = TraceContext(*read_header_pairs(scope.get("headers", ())))
        scope = {**scope, SCOPE_KEY: context}
        if scope["type"] == "http":
            send = _PageSender(send, scope).send
        token = activate(context)
        pinned = pin_request_span()  # an OpenTelemetry server span current now: see sources
        try:
            await self.app(scope, receive, send)
        finally:
            unpin_request_span(pinned)
            deactivate(token)


class _PageSender:
    """Sends each response with its page's headers settled; while the page's body is needed
    (its head, or all of it to strip), its start waits."""

    def __init__(self, send: Send, scope: ASGIScope) -> None:
        self._send = send
        self._scope = scope  # the router adds the endpoint to it
        # A HEAD response has no body to hold back, and must keep GET's Content-Length.
        self._holdable = scope.get("method") != "HEAD"
        self._held: tuple[Message, list[tuple[str, str]], OutgoingPage] | None = None
        self._chunks: list[bytes] = []
        self._size = 0

    async def send(self, message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            headers = [
                (bytes(name).decode("latin-1"), bytes(value).decode("latin-1"))
                for name, value in message.get("headers", ())
            ]
            page = read_page(
                header_map(headers),
                message.get("status", 200),
                complete=None if self._holdable else False,
            )
            if page is None:
                await self._send(message)
            elif not page.reads_body:
                await self._send(_with_headers(message, headers, page.header_changes()))
            else:
                self._held = (message, headers, page)
            return
        if self._held is None:
            await self._send(message)
            return
        start, headers, page = self._held
        if kind != "http.response.body":
            # Not a body (an extension's message, such as pathsend): the page goes as it is.
            self._held = None
            await self._send(_with_headers(start, headers, page.header_changes()))
            if self._chunks:
                await self._send(
                    {
                        "type": "http.response.body",
                        "body": b"".join(self._chunks),
                        "more_body": True,
                    }
                )
            await self._send(message)
            return
        chunk = message.get("body", b"")
        self._chunks.append(chunk)
        self._size += len(chunk)
        more = message.get("more_body", False)
        if more and (page.strips or self._wants_more()):
            return
        body = page.body(b"".join(self._chunks), lambda: _location(self._scope))
        self._held, self._chunks = None, []
        await self._send(_with_headers(start, headers, page.header_changes()))
        await self._send({**message, "body": body, "more_body": more})

    def _wants_more(self) -> bool:
        # A page's start is held until it holds the head (or HEAD_LIMIT bytes of it).
        if self._size >= HEAD_LIMIT:
            return False
        return not head_seen(b"".join(self._chunks))


def _with_headers(
    start: Message, headers: list[tuple[str, str]], changes: dict[str, str | None]
) -> Message:
    if not changes:
        return start
    return {
        **start,
        "headers": [
            (name.lower().encode("latin-1"), value.encode("latin-1"))
            for name, value in changed_headers(headers, changes)
        ],
    }


def _location(scope: ASGIScope) -> str:
    """The page, for the warning about stale tags: its endpoint when a router named it."""
    endpoint = scope.get("endpoint")
    name = getattr(endpoint, "__qualname__", None)
    if name is not None:
        return f"the endpoint {getattr(endpoint, '__module__', '?')}.{name}"
    return f"the page {scope.get('path')!r}"
