"""A nested run of the middleware chain keeps the request's trace (design decision 10).

The outer views here do what Wagtail's preview does: build a dummy request with no trace
headers and run the whole middleware chain again on it, inside the real request.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.handlers.base import BaseHandler
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.test import AsyncClient, Client, RequestFactory
from django.urls import path

import metatrace
from tests.conftest import INCOMING_SPAN, INCOMING_TRACE, parse_trace_meta, split_sentry_trace

pytestmark = pytest.mark.urls("tests.test_nested")
HEADERS = {"sentry-trace": f"{INCOMING_TRACE}-{INCOMING_SPAN}-1"}


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
]


def _assert_one_trace(body: dict[str, Any], incoming: str | None) -> None:
    outer = parse_trace_meta(body["outer"])["sentry-trace"]
    inner = parse_trace_meta(body["inner"])["sentry-trace"]
    # The same trace and the same span: the inner run renders the request's own context.
    assert inner == outer == body["inner_attribute"] == body["outer_attribute"]
    if incoming is not None:
        assert split_sentry_trace(outer)[0] == incoming


@pytest.mark.parametrize("headers", [HEADERS, {}], ids=["continued", "started-here"])
def test_a_nested_run_keeps_the_requests_trace(headers: dict[str, str]) -> None:
    metatrace.configure(public_key="abc")  # so that a trace started here renders its tags
    body = json.loads(Client().get("/outer/", headers=headers).content)
    _assert_one_trace(body, INCOMING_TRACE if headers else None)


@pytest.mark.asyncio
@pytest.mark.parametrize("headers", [HEADERS, {}], ids=["continued", "started-here"])
async def test_a_nested_async_run_keeps_the_requests_trace(headers: dict[str, str]) -> None:
    metatrace.configure(public_key="abc")
    response = await AsyncClient().get("/async-outer/", headers=headers)
    _assert_one_trace(json.loads(response.content), INCOMING_TRACE if headers else None)


def test_a_trace_active_outside_any_request_is_not_the_requests() -> None:
    # A test or a script that continued a trace and then sends a request: the request is a new
    # one and continues its own headers (or starts its own trace), not the script's.
    metatrace.configure(public_key="abc")
    with metatrace.trace_scope({"sentry-trace": "f" * 32 + "-" + "1" * 16}) as script:
        continued = json.loads(Client().get("/outer/", headers=HEADERS).content)
        started = json.loads(Client().get("/outer/").content)
        assert metatrace.current_trace() is script
    _assert_one_trace(continued, INCOMING_TRACE)
    _assert_one_trace(started, None)
    assert split_sentry_trace(parse_trace_meta(started["outer"])["sentry-trace"])[0] != "f" * 32


def test_the_next_request_is_not_nested() -> None:
    # The marker ends with the request: a later request on the same thread continues its own.
    metatrace.configure(public_key="abc")
    first = json.loads(Client().get("/outer/", headers=HEADERS).content)
    second = json.loads(Client().get("/outer/").content)
    assert split_sentry_trace(parse_trace_meta(second["outer"])["sentry-trace"])[0] != (
        INCOMING_TRACE
    )
    assert first["outer_attribute"] != second["outer_attribute"]


def test_a_nested_run_inside_a_trace_the_view_made_active_gets_that_trace() -> None:
    body = json.loads(Client().get("/scoped-outer/", headers=HEADERS).content)
    assert split_sentry_trace(body["inner_attribute"])[0] == "c" * 32
