"""Django middleware: continue the incoming trace for the duration of each request."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest
from django.http.response import HttpResponseBase

from .carriers import read_environ
from .context import TraceContext, activate, deactivate


class TraceMiddleware:
    """Activates a `TraceContext` from the request headers, exposed as `request.metatrace`.

    Put it near the top of MIDDLEWARE, before anything that renders a response itself.
    The context is restored when the response leaves, even if the view raised.
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
        context = TraceContext(*read_environ(request.META))
        request.metatrace = context  # type: ignore[attr-defined]
        token = activate(context)
        try:
            return self.get_response(request)
        finally:
            deactivate(token)

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        context = TraceContext(*read_environ(request.META))
        request.metatrace = context  # type: ignore[attr-defined]
        token = activate(context)
        try:
            return await self.get_response(request)  # type: ignore[no-any-return, misc]
        finally:
            deactivate(token)
