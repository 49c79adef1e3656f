"""WSGI middleware for apps other than Django's (Flask, Bottle, Falcon, ...).

    app.wsgi_app = metatrace.wsgi.TraceMiddleware(app.wsgi_app)   # Flask

The server consumes the body after the app has returned, so the body iterable is wrapped: each
chunk is produced inside the request's trace, and the previous context is back in between.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from .caching import needs_stripping, strip_trace_meta
from .carriers import read_environ
from .config import get_config
from .context import TraceContext, activate, deactivate

if TYPE_CHECKING:
    from _typeshed import OptExcInfo
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

ENVIRON_KEY = "metatrace"


class TraceMiddleware:
    """Continues the trace from each request's headers, for the app call and its whole body.

    The context is also at `environ["metatrace"]`. Like the Django middleware, it removes the
    tags from responses that a shared cache may store (setting `strip_cacheable`).
    """

    def __init__(self, app: WSGIApplication) -> None:
        self.app = app

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        context = TraceContext(*read_environ(environ))
        environ[ENVIRON_KEY] = context
        # A HEAD response has no body, hence no tags, and must keep GET's Content-Length.
        strip = get_config().strip_cacheable and environ.get("REQUEST_METHOD") != "HEAD"
        response = _Response(context, start_response, strip)
        token = activate(context)
        try:
            body = self.app(environ, response.start_response)
        finally:
            deactivate(token)
        return _Body(context, body, response)


class _Response:
    """Passes start_response through, unless the page is shared-cacheable: then the status
    and headers wait until the whole body is in and stripped of its tags."""

    def __init__(self, context: TraceContext, start_response: StartResponse, strip: bool) -> None:
        self.context = context
        self.real_start_response = start_response
        self.strip = strip
        self.held: tuple[str, list[tuple[str, str]], OptExcInfo | None] | None = None
        self.buffer: list[bytes] = []

    def start_response(
        self,
        status: str,
        headers: list[tuple[str, str]],
        exc_info: OptExcInfo | None = None,
    ) -> Callable[[bytes], object]:
        if self.strip and needs_stripping(headers):
            self.held = (status, headers, exc_info)
            return self.buffer.append
        self.held = None
        return self.real_start_response(status, headers, exc_info)

    def release(self, body: bytes) -> bytes:
        """Strip the held page and start the real response; returns the body to send."""
        assert self.held is not None
        status, headers, exc_info = self.held
        body = strip_trace_meta(b"".join(self.buffer) + body)
        headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
        headers.append(("Content-Length", str(len(body))))
        self.real_start_response(status, headers, exc_info)
        return body


class _Body:
    """The app's body iterable, advanced (and closed) inside the request's context."""

    def __init__(self, context: TraceContext, body: Iterable[bytes], response: _Response) -> None:
        self.context = context
        self.body = body
        self.response = response

    def __iter__(self) -> Iterator[bytes]:
        chunks = iter(self.body)
        while True:
            chunk = self._in_context(next, chunks, None)
            if self.response.held is not None:
                # Shared-cacheable: gather the whole page, then strip its tags.
                rest = b"".join(self._in_context(list, chunks)) if chunk is not None else b""
                yield self.response.release((chunk or b"") + rest)
                return
            if chunk is None:
                return
            yield chunk

    def close(self) -> None:
        close = getattr(self.body, "close", None)
        if close is not None:
            self._in_context(close)

    def _in_context(self, function: Callable[..., Any], *args: Any) -> Any:
        token = activate(self.context)
        try:
            return function(*args)
        finally:
            deactivate(token)
