"""WSGI middleware for apps other than Django's (Flask, Bottle, Falcon, ...).

    app.wsgi_app = metatrace.wsgi.TraceMiddleware(app.wsgi_app)   # Flask

The server consumes the body after the app has returned, so the body iterable is wrapped: each
chunk is produced inside the request's trace, and the previous context is back in between.
HTML pages get this request's trace, and no one else's, as _pages/responses.py decides.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from ._core.active import activate, deactivate, pin, unpin
from ._core.carriers import read_environ
from ._core.context import TraceContext
from ._pages.responses import (
    HEAD_LIMIT,
    OutgoingPage,
    changed_headers,
    head_seen,
    header_map,
    read_page,
)
from ._sources import pin_request_span, rendering, unpin_request_span, warn_untested

if TYPE_CHECKING:
    from _typeshed import OptExcInfo
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

ENVIRON_KEY = "metatrace"


class TraceMiddleware:
    """Continues the trace from each request's headers, for the app call and its whole body.

    The context is also at `environ["metatrace"]`. Like the Django middleware, it gives each
    HTML page this request's trace (Server-Timing, stale tags, `inject`) and removes it from
    pages that a shared cache may store (`strip_cacheable`): see _pages/responses.py.
    """

    def __init__(self, app: WSGIApplication) -> None:
        self.app = app
        warn_untested()  # at start-up: a tracer of a major not tested

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        context = TraceContext(*read_environ(environ))
        environ[ENVIRON_KEY] = context
        # A HEAD response has no body to hold back, and must keep GET's Content-Length.
        holdable = environ.get("REQUEST_METHOD") != "HEAD"
        response = _Response(start_response, holdable, environ.get("PATH_INFO"))
        token = activate(context)
        pinned = pin_request_span()  # an OpenTelemetry server span current now: see sources
        try:
            body = self.app(environ, response.start_response)
            # The server iterates the body after this returns, perhaps after the tracer's span
            # ended: the body renders the trace the headers name now.
            rendered = rendering()
        finally:
            unpin_request_span(pinned)
            deactivate(token)
        return _Body(context, rendered, body, response)


class _Response:
    """Passes start_response through with the page's headers settled; while the page's body
    is needed (its head, or all of it to strip), the status and headers wait."""

    def __init__(self, start_response: StartResponse, holdable: bool, path: object) -> None:
        self.real_start_response = start_response
        self.holdable = holdable
        self.path = path  # names the page in the warning about stale tags
        self.held: tuple[str, list[tuple[str, str]], OptExcInfo | None, OutgoingPage] | None = None
        self.buffer: list[bytes] = []  # what the app wrote with write() while held

    def start_response(
        self,
        status: str,
        headers: list[tuple[str, str]],
        exc_info: OptExcInfo | None = None,
    ) -> Callable[[bytes], object]:
        code = int(status[:3]) if status[:3].isdigit() else 200
        page = read_page(header_map(headers), code, complete=None if self.holdable else False)
        self.held = None
        if page is None:
            return self.real_start_response(status, headers, exc_info)
        if not page.reads_body:
            headers = changed_headers(headers, page.header_changes())
            return self.real_start_response(status, headers, exc_info)
        self.held = (status, headers, exc_info, page)
        return self.buffer.append

    def wants(self, gathered: list[bytes]) -> bool:
        """Whether the held page needs more of its body than `gathered`."""
        assert self.held is not None
        if self.held[3].strips:
            return True
        start = b"".join(self.buffer + gathered)
        return len(start) < HEAD_LIMIT and not head_seen(start)

    def release(self, body: bytes) -> bytes:
        """Start the real response for the held page; returns the body to send."""
        assert self.held is not None
        status, headers, exc_info, page = self.held
        body = page.body(b"".join(self.buffer) + body, lambda: f"the page {self.path!r}")
        self.held, self.buffer = None, []
        self.real_start_response(status, changed_headers(headers, page.header_changes()), exc_info)
        return body


class _Body:
    """The app's body iterable, advanced (and closed) inside the request's context."""

    def __init__(
        self,
        context: TraceContext,
        rendered: TraceContext | None,
        body: Iterable[bytes],
        response: _Response,
    ) -> None:
        self.context = context
        self.rendered = rendered
        self.body = body
        self.response = response

    def __iter__(self) -> Iterator[bytes]:
        chunks = iter(self.body)
        while True:
            chunk = self._in_context(next, chunks, None)
            if self.response.held is not None:
                # Gather what the page needs (start_response may come with the first chunk).
                gathered = [] if chunk is None else [chunk]
                while chunk is not None and self.response.wants(gathered):
                    chunk = self._in_context(next, chunks, None)
                    if chunk is not None:
                        gathered.append(chunk)
                yield self.response.release(b"".join(gathered))
                if chunk is None:
                    return
                continue  # the rest passes as it comes
            if chunk is None:
                return
            yield chunk

    def close(self) -> None:
        close = getattr(self.body, "close", None)
        if close is not None:
            self._in_context(close)

    def _in_context(self, function: Callable[..., Any], *args: Any) -> Any:
        token = activate(self.context)
        pinned = None if self.rendered is None else pin(self.rendered)
        try:
            return function(*args)
        finally:
            if pinned is not None:
                unpin(pinned)
            deactivate(token)
