"""Django middleware: continue the incoming trace for the duration of each request."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase

from .caching import is_shared_cacheable, strip_trace_meta
from .carriers import read_environ
from .config import get_config
from .context import TraceContext, activate, deactivate
from .sources import OTEL, tracer_in_charge


class TraceMiddleware:
    """Activates a `TraceContext` from the request headers, exposed as `request.metatrace`.

    Put it near the top of MIDDLEWARE, before anything that renders a response itself.
    The previous context is restored when the response leaves, even if the view raised, and
    a streaming response's content is produced inside the request's context.

    When the site's tracer is the source (see `sources`), its own integration continues the
    trace (sentry-sdk's Django integration, OpenTelemetry's instrumentation), so this
    middleware does not do it a second time, and `request.metatrace` is not set.
    """

    sync_capable = True
    async_capable = True

    def __init__(
        self,
        get_response: Callable[[HttpRequest], HttpResponseBase]
        | Callable[[HttpRequest], Awaitable[HttpResponseBase]],
    ) -> None:
        self.get_response = get_response
        self.async_mode = iscoroutinefunction(get_response)
        if self.async_mode:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if self.async_mode:
            return self.__acall__(request)
        tracer = tracer_in_charge()
        if tracer is not None:
            return _strip_if_cacheable(_under_tracer(tracer, request, self.get_response))
        context = TraceContext(*read_environ(request.META))
        request.metatrace = context  # type: ignore[attr-defined]
        token = activate(context)
        try:
            response: HttpResponseBase = self.get_response(request)  # type: ignore[assignment]
        finally:
            deactivate(token)
        return _finish(response, context)

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        tracer = tracer_in_charge()
        if tracer is not None:
            response: HttpResponseBase = await _under_tracer(tracer, request, self.get_response)
            return _strip_if_cacheable(response)
        context = TraceContext(*read_environ(request.META))
        request.metatrace = context  # type: ignore[attr-defined]
        token = activate(context)
        try:
            response = await self.get_response(request)  # type: ignore[misc]
        finally:
            deactivate(token)
        return _finish(response, context)


def _under_tracer(tracer: str, request: HttpRequest, get_response: Callable[..., Any]) -> Any:
    if tracer == OTEL:
        from .otel import continued_by_otel

        return continued_by_otel(request, get_response)
    return get_response(request)


def _finish(response: HttpResponseBase, context: TraceContext) -> HttpResponseBase:
    if isinstance(response, StreamingHttpResponse):
        content = response.streaming_content
        response.streaming_content = (
            _astreamed_in(context, content)  # type: ignore[arg-type]
            if response.is_async
            else _streamed_in(context, content)  # type: ignore[arg-type]
        )
        return response
    return _strip_if_cacheable(response)


def _strip_if_cacheable(response: HttpResponseBase) -> HttpResponseBase:
    if (
        isinstance(response, HttpResponse)
        and get_config().strip_cacheable
        and is_shared_cacheable(response.get("Cache-Control"))
    ):
        # A shared cache would serve this visitor's trace and baggage to the next ones.
        response.content = strip_trace_meta(response.content)
    return response


def _streamed_in(context: TraceContext, content: Iterator[bytes]) -> Iterator[bytes]:
    # The body is produced after the view returned, by the server: give it the request's trace.
    while True:
        token = activate(context)
        try:
            chunk = next(content)
        except StopIteration:
            return
        finally:
            deactivate(token)
        yield chunk


async def _astreamed_in(
    context: TraceContext, content: AsyncIterator[bytes]
) -> AsyncIterator[bytes]:
    while True:
        token = activate(context)
        try:
            chunk = await anext(content)
        except StopAsyncIteration:
            return
        finally:
            deactivate(token)
        yield chunk
