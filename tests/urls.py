"""Views that exercise every way Django renders a template, plus ones for concurrency tests."""

from __future__ import annotations

import asyncio
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import include, path
from django.utils.http import http_date
from django.views.decorators.cache import cache_control, cache_page
from django.views.generic import TemplateView

import metatrace

PAGE = "tests/page.html"  # uses {{ trace_meta }} from the context processor
TAG_PAGE = "tests/tag.html"  # uses {% trace_meta %}

# Lets two threaded requests prove they overlap before either renders.
barrier = threading.Barrier(2, timeout=10)


def function_view(request: HttpRequest) -> HttpResponse:
    return render(request, PAGE)


def tag_view(request: HttpRequest) -> HttpResponse:
    return render(request, TAG_PAGE)


def expires_view(request: HttpRequest) -> HttpResponse:
    response = render(request, TAG_PAGE)
    response["Expires"] = http_date(time.time() + 600)  # and no Cache-Control
    return response


def template_response_view(request: HttpRequest) -> TemplateResponse:
    return TemplateResponse(request, PAGE)


def render_to_string_view(request: HttpRequest) -> HttpResponse:
    return HttpResponse(render_to_string(PAGE, request=request))


def jinja_view(request: HttpRequest) -> HttpResponse:
    return render(request, "tests/jinja_page.html", using="jinja2")


def barrier_view(request: HttpRequest) -> HttpResponse:
    barrier.wait()
    return render(request, TAG_PAGE)


async def async_view(request: HttpRequest) -> HttpResponse:
    await asyncio.sleep(0.01)  # let other requests interleave
    return HttpResponse(metatrace.trace_meta())


def propagation_view(request: HttpRequest) -> JsonResponse:
    """What metatrace would propagate from here, next to what sentry-sdk would."""
    values: dict[str, Any] = {
        "traceparent": metatrace.get_traceparent(),
        "baggage": metatrace.get_baggage(),
        "meta": str(metatrace.trace_meta()),
    }
    if "sentry_sdk" in sys.modules:
        import sentry_sdk

        from tests.tracers import root_traceparent

        values["sentry"] = [sentry_sdk.get_traceparent(), sentry_sdk.get_baggage()]
        values["transaction"] = root_traceparent()
    return JsonResponse(values)


def failing_view(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("view failed")


def streaming_view(request: HttpRequest) -> StreamingHttpResponse:
    # The tags are rendered while the server iterates, after the view (and middleware) returned.
    def body() -> Iterator[str]:
        yield "<!doctype html><html><head>"
        yield str(metatrace.trace_meta())
        yield "</head></html>"

    return StreamingHttpResponse(body())


# What the body of /t/endless/ saw when it was closed, for the "client went away" test.
closed_in: list[str | None] = []


def endless_view(request: HttpRequest) -> StreamingHttpResponse:
    def body() -> Iterator[str]:
        try:
            while True:
                yield str(metatrace.trace_meta())
        finally:
            closed_in.append(metatrace.current_trace().trace_id)

    return StreamingHttpResponse(body())


async def async_streaming_view(request: HttpRequest) -> StreamingHttpResponse:
    async def body() -> AsyncIterator[str]:
        yield "<!doctype html><html><head>"
        await asyncio.sleep(0)
        yield str(metatrace.trace_meta())
        yield "</head></html>"

    return StreamingHttpResponse(body())


test_patterns = [
    path("function/", function_view),
    path("tag/", tag_view),
    path("class/", TemplateView.as_view(template_name=PAGE)),
    path("template-response/", template_response_view),
    path("render-to-string/", render_to_string_view),
    path("jinja/", jinja_view),
    path("barrier/", barrier_view),
    path("async/", async_view),
    path("failing/", failing_view),
    path("propagation/", propagation_view),
    path("streaming/", streaming_view),
    path("async-streaming/", async_streaming_view),
    path("endless/", endless_view),
    path("cache-page/", cache_page(60)(tag_view)),
    path("public/", cache_control(public=True, max_age=60)(tag_view)),
    path("private/", cache_control(private=True, max_age=60)(tag_view)),
    path("expires/", expires_view),
]

# The test views live under /t/; the sample site's pages keep their own paths.
urlpatterns = [
    path("t/", include(test_patterns)),
    path("", include("sample_site.urls")),
]
