"""ASGI middleware for apps other than Django's (Starlette, FastAPI, Quart, ...).

    app.add_middleware(metatrace.asgi.TraceMiddleware)          # Starlette, FastAPI
    app = metatrace.asgi.TraceMiddleware(app)                    # any ASGI app

The app sends the whole response, streamed or not, before its call returns, so the context is
restored right after it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from .caching import needs_stripping, strip_trace_meta
from .carriers import read_header_pairs
from .config import get_config
from .context import TraceContext, activate, deactivate

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

SCOPE_KEY = "metatrace"


class TraceMiddleware:
    """Continues the trace from each HTTP or WebSocket request's headers for the app call.

    The context is also at `scope["metatrace"]`. Like the Django middleware, it removes the
    tags from responses that a shared cache may store (setting `strip_cacheable`).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        context = TraceContext(*read_header_pairs(scope.get("headers", ())))
        scope = {**scope, SCOPE_KEY: context}
        # A HEAD response has no body, hence no tags, and must keep GET's Content-Length.
        if (
            scope["type"] == "http"
            and scope.get("method") != "HEAD"
            and get_config().strip_cacheable
        ):
            send = _Stripper(send).send
        token = activate(context)
        try:
            await self.app(scope, receive, send)
        finally:
            deactivate(token)


class _Stripper:
    """Holds back a shared-cacheable response until its body is complete, then strips the
    tags from it; any other response passes straight through."""

    def __init__(self, send: Send) -> None:
        self._send = send
        self._start: Message | None = None
        self._chunks: list[bytes] = []

    async def send(self, message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.start" and _cacheable(message):
            self._start = message
            return
        if kind == "http.response.body" and self._start is not None:
            self._chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            body = strip_trace_meta(b"".join(self._chunks))
            headers = [
                (name, value)
                for name, value in self._start.get("headers", ())
                if bytes(name).lower() != b"content-length"
            ]
            headers.append((b"content-length", str(len(body)).encode()))
            start, self._start, self._chunks = self._start, None, []
            await self._send({**start, "headers": headers})
            await self._send({"type": "http.response.body", "body": body})
            return
        await self._send(message)


def _cacheable(start: Message) -> bool:
    return needs_stripping(
        (bytes(name).decode("latin-1"), bytes(value).decode("latin-1"))
        for name, value in start.get("headers", ())
    )
