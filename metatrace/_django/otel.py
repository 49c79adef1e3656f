"""OpenTelemetry as the source, without its Django instrumentation: continue the incoming
W3C headers with OpenTelemetry's own propagators for the length of the request."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from asgiref.sync import iscoroutinefunction
from django.http import HttpRequest
from opentelemetry import context, propagate, trace

T = TypeVar("T")


def continued_by_otel(request: HttpRequest, get_response: Callable[[HttpRequest], T]) -> T | Any:
    if trace.get_current_span().get_span_context().is_valid:
        return get_response(request)  # the instrumentation's server span is current already
    incoming = propagate.extract(carrier=request.headers)  # case-insensitive lookups
    if iscoroutinefunction(get_response):
        return _acall(incoming, request, get_response)
    token = context.attach(incoming)
    try:
        return get_response(request)
    finally:
        context.detach(token)


async def _acall(
    incoming: context.Context,
    request: HttpRequest,
    get_response: Callable[[HttpRequest], Awaitable[T]],
) -> T:
    token = context.attach(incoming)
    try:
        return await get_response(request)
    finally:
        context.detach(token)
