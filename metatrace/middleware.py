"""Django middleware: continue the incoming trace for the duration of each request."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextvars import ContextVar
from typing import Any

from ._core.extras import missing

try:
    from asgiref.sync import iscoroutinefunction, markcoroutinefunction
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured
    from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
    from django.http.response import HttpResponseBase
except ModuleNotFoundError as error:
    raise missing(error, "metatrace.middleware", "django")  # noqa: B904 (its cause is set)

from ._core import config as configuration
from ._core.active import activate, deactivate, get_active, pin, unpin
from ._core.carriers import read_environ
from ._core.context import TraceContext
from ._core.withheld import release_tags, withhold_tags
from ._django.cache import Around, headers_after
from ._pages.responses import (
    carry_head,
    header_map,
    is_html,
    is_plain,
    read_page,
    resized,
    withholds_tags,
)
from ._sources import OTEL, OTEL_TRACE, pin_request_span, rendering, unpin_request_span
from .conf import log_source, require_app

# The context that a TraceMiddleware further out has activated for the request running here.
# A context activated any other way (continue_trace() in a test or a script) is not a request:
# a request that reaches the middleware under it still continues its own headers.
_request_trace: ContextVar[TraceContext | None] = ContextVar("metatrace_request", default=None)


class TraceMiddleware:
    """Activates a `TraceContext` from the request headers, exposed as `request.metatrace`.

    Put it near the top of MIDDLEWARE, before anything that renders a response itself.
    The previous context is restored when the response leaves, even if the view raised, and
    a streaming response's content is produced inside the request's context (with the tags
    withheld, if a shared cache may store it). On the way out, an HTML response gets this
    request's trace and no one else's (Server-Timing, stale tags replaced, `INJECT`,
    shared-cacheable pages stripped): see `responses`.

    When the site's tracer has a span running (see `sources`), the tags carry that span, and
    the context here is never even parsed: the tracer's own integration continued the trace.
    It is the fallback for requests that the tracer does not cover, so that no thread ever
    keeps one trace for every request it serves.

    A run nested inside a request (Wagtail's preview runs the middleware chain again on a
    dummy request; so does any inner `get_response`) keeps the request's active trace: the
    dummy request carries no trace headers, and a fresh trace would replace the real one.
    """

    sync_capable = True
    async_capable = True

    def __init__(
        self,
        get_response: Callable[[HttpRequest], HttpResponseBase]
        | Callable[[HttpRequest], Awaitable[HttpResponseBase]],
    ) -> None:
        require_app("TraceMiddleware")  # fails at start-up without "metatrace" in INSTALLED_APPS
        log_source()
        self.get_response = get_response
        self.async_mode = iscoroutinefunction(get_response)
        if self.async_mode:
            markcoroutinefunction(self)
        cache = Around(getattr(settings, "MIDDLEWARE", None) or [], TraceMiddleware)
        leak = cache.leak()
        if leak is not None:  # as check metatrace.E002 says, for every server, at start-up
            raise ImproperlyConfigured(f"{leak[0]} {leak[1]} (metatrace.E002)")
        # Django's cache middleware outside this one (its documented order) adds the headers
        # that make a page shared-cacheable after the page has passed here: rehearse it.
        self.cache_outside = cache.rehearsal()

    def __call__(self, request: HttpRequest) -> Any:
        if self.async_mode:
            return self.__acall__(request)
        if _request_trace.get() is not None:
            return self.get_response(_nested(request))  # the outer run finishes the response
        context = TraceContext(*read_environ(request.META))
        request.metatrace = context  # type: ignore[attr-defined]
        token = activate(context)
        nesting = _request_trace.set(context)
        # An OpenTelemetry server span current now is the request's: see sources.
        pinned = pin_request_span() if OTEL_TRACE in sys.modules else None
        try:
            if (configuration.configured or configuration.get_config()).source == OTEL:
                response = _continued_by_otel(request, self._respond)
            elif self.cache_outside is None:
                # As _respond, inline: the page gets its trace while the request's is current.
                response = _carry_trace(request, self.get_response(request))  # type: ignore[arg-type]
            else:
                response = self._respond(request)
            if isinstance(response, StreamingHttpResponse):
                _stream_in_context(response, context, rendering())
        finally:
            if pinned is not None:
                unpin_request_span(pinned)
            _request_trace.reset(nesting)
            deactivate(token)
        return response

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        if _request_trace.get() is not None:
            return await self.get_response(_nested(request))  # type: ignore[misc,no-any-return]
        response: HttpResponseBase
        context = TraceContext(*read_environ(request.META))
        request.metatrace = context  # type: ignore[attr-defined]
        token = activate(context)
        nesting = _request_trace.set(context)
        pinned = pin_request_span() if OTEL_TRACE in sys.modules else None
        try:
            if (configuration.configured or configuration.get_config()).source == OTEL:
                response = await _continued_by_otel(request, self._arespond)
            elif self.cache_outside is None:
                # As __call__, its twin (tests/django_app/test_middleware.py runs both).
                response = _carry_trace(request, await self.get_response(request))  # type: ignore[misc]
            else:
                response = await self._arespond(request)
            if isinstance(response, StreamingHttpResponse):
                _stream_in_context(response, context, rendering())
        finally:
            if pinned is not None:
                unpin_request_span(pinned)
            _request_trace.reset(nesting)
            deactivate(token)
        return response

    # The page gets its trace here, while the request's trace (and a tracer's span) is current.
    def _respond(self, request: HttpRequest) -> HttpResponseBase:
        return self._carry(request, self.get_response(request))  # type: ignore[arg-type]

    async def _arespond(self, request: HttpRequest) -> HttpResponseBase:
        return self._carry(request, await self.get_response(request))  # type: ignore[misc]

    def _carry(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        if self.cache_outside is not None:
            later = headers_after(self.cache_outside, request, response)
            if later is not None:  # the cache outside will store it, and so may others
                headers = header_map(response.items())
                headers.update(later)
                return _carry_any(request, response, headers, _store(response))
        return _carry_trace(request, response)


def _nested(request: HttpRequest) -> HttpRequest:
    """A run inside a request's: the inner request gets the active trace (the request's own,
    or whatever the view made active) and nothing changes."""
    request.metatrace = get_active() or _request_trace.get()  # type: ignore[attr-defined]
    return request


def _continued_by_otel(request: HttpRequest, get_response: Callable[..., Any]) -> Any:
    global _otel_continues
    if _otel_continues is None:  # imports OpenTelemetry: once, and only when it is the source
        from ._django.otel import continued_by_otel

        _otel_continues = continued_by_otel
    return _otel_continues(request, get_response)


_otel_continues: Callable[[HttpRequest, Callable[..., Any]], Any] | None = None


def _carry_trace(request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
    """What an HTML response carries is decided in _pages/responses.py; this applies it."""
    try:
        # {lowercase name: (name, value)} (Django 3.2 and later): read as a plain dict, it
        # spares a Python-level call per header.
        store = response.headers._store
    except AttributeError:
        if not isinstance(response, HttpResponseBase):
            return response
        return _carry_any(request, response, header_map(response.items()), None)
    if type(store) is not dict:
        return _carry_any(request, response, header_map(response.items()), None)
    content_type = store.get("content-type")
    if content_type is None or not is_html(content_type[1]):
        return response  # API responses, files and the like stop here
    if not (isinstance(response, HttpResponse) and is_plain(store, response.status_code)):
        headers = {name: value for name, (_, value) in store.items()}
        return _carry_any(request, response, headers, store)
    content = response.content
    body, timing = carry_head(content, lambda: _location(request))
    if body is not content:
        response.content = body
        length = store.get("content-length")
        _apply(response, store, resized(length and length[1], len(body) - len(content)))
    if timing:
        # What Django's __setitem__ would store: the value is ASCII, with no line break.
        store["server-timing"] = ("Server-Timing", timing)
    return response


def _store(response: HttpResponseBase) -> dict[str, tuple[str, str]] | None:
    store = getattr(response.headers, "_store", None)
    return store if type(store) is dict else None


def _carry_any(
    request: HttpRequest,
    response: HttpResponseBase,
    headers: dict[str, str],
    store: dict[str, tuple[str, str]] | None,
) -> HttpResponseBase:
    """Any response: `read_page` decides its work."""
    complete = isinstance(response, HttpResponse)
    page = read_page(headers, response.status_code, complete=complete)
    if page is None:
        return response
    if page.reads_body:
        content = response.content  # type: ignore[attr-defined]
        body = page.body(content, lambda: _location(request))
        if body is not content:
            response.content = body  # type: ignore[attr-defined]
    _apply(response, store, page.header_changes())
    return response


def _apply(
    response: HttpResponseBase,
    store: dict[str, tuple[str, str]] | None,
    changes: dict[str, str | None],
) -> None:
    for name, value in changes.items():
        if store is not None:
            # What Django's __setitem__ would store: the values are ASCII with no line break
            # (ours, digits, or Server-Timing entries that Django's store held already).
            if value is None:
                store.pop(name.lower(), None)
            else:
                store[name.lower()] = (name, value)
        elif value is not None:
            response[name] = value
        elif response.has_header(name):
            del response[name]


def _location(request: HttpRequest) -> str:
    """The page, for the warning about stale tags: its view (a bounded set), else its path."""
    match = request.resolver_match
    return f"the view {match.view_name!r}" if match is not None else f"the page {request.path!r}"


def _stream_in_context(
    response: StreamingHttpResponse, context: TraceContext, rendered: TraceContext | None
) -> None:
    """The body is produced after the view returned, by the server, and perhaps after the
    tracer's span ended: each chunk is produced inside the request's trace, rendering what
    the response's headers carry (`rendered`, pinned; see sources.rendering)."""
    content = response.streaming_content
    stream = _Stream(context, rendered, response)
    response.streaming_content = (
        stream.aiterate(content)  # type: ignore[arg-type]
        if response.is_async
        else stream.iterate(content)  # type: ignore[arg-type]
    )
    # The server closes the response (and the view's iterator) when it is done or the
    # client went away: that clean-up belongs to the request's trace too.
    close = response.close

    def close_in_context() -> None:
        tokens = stream.enter(False)
        try:
            close()
        finally:
            stream.leave(tokens)

    response.close = close_in_context  # type: ignore[method-assign]


class _Stream:
    """The request's trace around each step of a streamed body."""

    __slots__ = ("context", "rendered", "response")

    def __init__(
        self,
        context: TraceContext,
        rendered: TraceContext | None,
        response: StreamingHttpResponse,
    ) -> None:
        self.context = context
        self.rendered = rendered
        self.response = response

    def enter(self, withhold: bool) -> tuple[Any, Any, Any]:
        rendered = self.rendered
        return (
            activate(self.context),
            withhold_tags(withhold),
            None if rendered is None else pin(rendered),
        )

    def leave(self, tokens: tuple[Any, Any, Any]) -> None:
        active, held, pinned = tokens
        if pinned is not None:
            unpin(pinned)
        release_tags(held)
        deactivate(active)

    def withholds(self) -> bool:
        # A page a shared cache may store cannot be stripped as it streams: it gets no tags.
        # Asked at the first chunk, once every middleware further out has set its headers too.
        response = self.response
        return withholds_tags(header_map(response.items()), response.status_code)

    def iterate(self, content: Iterator[bytes]) -> Iterator[bytes]:
        withhold = self.withholds()
        while True:
            tokens = self.enter(withhold)
            try:
                chunk = next(content)
            except StopIteration:
                return
            finally:
                self.leave(tokens)
            yield chunk

    async def aiterate(self, content: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        try:
            withhold = self.withholds()
            while True:
                tokens = self.enter(withhold)
                try:
                    chunk = await anext(content)
                except StopAsyncIteration:
                    return
                finally:
                    self.leave(tokens)
                yield chunk
        finally:
            aclose = getattr(content, "aclose", None)
            if aclose is not None:
                tokens = self.enter(False)
                try:
                    await aclose()
                finally:
                    self.leave(tokens)
