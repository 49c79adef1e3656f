"""tests.urls plus views that run the middleware chain again inside a request.

As Wagtail's preview does: a dummy request with no trace headers (for
tests/django_app/test_middleware.py)."""

from __future__ import annotations

from django.core.handlers.base import BaseHandler
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.test import RequestFactory
from django.urls import include, path

import metatrace


def inner_view(request: HttpRequest) -> HttpResponse:
    seen = request.metatrace.sentry_trace  # type: ignore[attr-defined]
    return HttpResponse(f"{metatrace.trace_meta()}|{seen}")


class InnerHandler(BaseHandler):
    """Runs settings.MIDDLEWARE around `inner_view`, as Wagtail's make_preview_request does."""

    def _get_response(self, request: HttpRequest) -> HttpResponse:
        return inner_view(request)

    async def _get_response_async(self, request: HttpRequest) -> HttpResponse:
        return inner_view(request)


def _both(outer: HttpRequest, inner: HttpResponse) -> JsonResponse:
    inner_meta, inner_attribute = inner.content.decode().split("|")
    return JsonResponse(
        {
            "outer": str(metatrace.trace_meta()),
            "outer_attribute": outer.metatrace.sentry_trace,  # type: ignore[attr-defined]
            "inner": inner_meta,
            "inner_attribute": inner_attribute,
        }
    )


def outer_view(request: HttpRequest) -> JsonResponse:
    handler = InnerHandler()
    handler.load_middleware()
    return _both(request, handler.get_response(RequestFactory().get("/preview/")))


async def async_outer_view(request: HttpRequest) -> JsonResponse:
    handler = InnerHandler()
    handler.load_middleware(is_async=True)
    inner = await handler.get_response_async(RequestFactory().get("/preview/"))
    return _both(request, inner)


# A trace of the view's own, such as one continued from a message it handles.
SCOPED = {"sentry-trace": f"{'c' * 32}-{'d' * 16}-1"}


def scoped_outer_view(request: HttpRequest) -> JsonResponse:
    handler = InnerHandler()
    handler.load_middleware()
    with metatrace.trace_scope(SCOPED):
        inner = handler.get_response(RequestFactory().get("/preview/"))
    return JsonResponse({"inner_attribute": inner.content.decode().split("|")[1]})


urlpatterns = [
    path("outer/", outer_view),
    path("async-outer/", async_outer_view),
    path("scoped-outer/", scoped_outer_view),
    path("", include("tests.urls")),
]
