"""metatrace/middleware.py: the Django middleware, sync and async, around every kind of view."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import AsyncClient, Client

import metatrace
from tests.conftest import (
    INCOMING_SPAN,
    INCOMING_TRACE,
    decode_baggage,
    parse_trace_meta,
    split_sentry_trace,
)
from tests.tracers import otel_source, otel_traceparent

pytestmark = pytest.mark.urls("tests.nested_urls")


HEADERS = {
    "sentry-trace": f"{INCOMING_TRACE}-{INCOMING_SPAN}-1",
    "baggage": f"sentry-trace_id={INCOMING_TRACE},sentry-public_key=abc,sentry-release=r%201",
}
VIEWS = [
    "/t/function/",
    "/t/tag/",
    "/t/class/",
    "/t/template-response/",
    "/t/render-to-string/",
    "/t/jinja/",
]


@pytest.mark.parametrize("path", VIEWS)
def test_every_kind_of_view_continues_the_request_trace(client: Client, path: str) -> None:
    response = client.get(path, headers=HEADERS)
    assert response.status_code == 200
    tags = parse_trace_meta(response.content.decode())
    trace_id, span_id, flag = tags["sentry-trace"].split("-")
    assert (trace_id, flag) == (INCOMING_TRACE, "1")
    assert span_id != INCOMING_SPAN
    assert decode_baggage(tags["baggage"])["release"] == "r 1"
    assert metatrace.get_active() is None  # nothing leaks out of the request


@pytest.mark.parametrize("path", VIEWS)
def test_every_kind_of_view_starts_a_trace_without_headers(
    client: Client, settings: Any, path: str
) -> None:
    settings.METATRACE = {"DSN": "https://key1@o5.ingest.sentry.io/1", "TRACES_SAMPLE_RATE": 1.0}
    first = parse_trace_meta(client.get(path).content.decode())
    second = parse_trace_meta(client.get(path).content.decode())
    assert decode_baggage(first["baggage"])["public_key"] == "key1"
    assert first["sentry-trace"][:32] != second["sentry-trace"][:32]


def test_request_attribute_is_the_active_context(rf: Any) -> None:
    from metatrace.middleware import TraceMiddleware

    seen = {}

    def view(request: Any) -> Any:
        seen["request"] = request.metatrace
        seen["active"] = metatrace.get_active()
        return "response"

    request = rf.get("/", HTTP_SENTRY_TRACE=HEADERS["sentry-trace"])
    assert TraceMiddleware(view)(request) == "response"
    assert seen["request"] is seen["active"]
    assert seen["request"].trace_id == INCOMING_TRACE
    assert metatrace.get_active() is None


@pytest.mark.asyncio
async def test_async_view_through_async_middleware() -> None:
    response = await AsyncClient().get("/t/async/", headers=HEADERS)
    assert parse_trace_meta(response.content.decode())["sentry-trace"].startswith(INCOMING_TRACE)
    assert metatrace.get_active() is None


@pytest.mark.asyncio
async def test_sync_view_under_asgi() -> None:
    response = await AsyncClient().get("/t/tag/", headers=HEADERS)
    assert parse_trace_meta(response.content.decode())["sentry-trace"].startswith(INCOMING_TRACE)


def test_middleware_is_sync_and_async_capable() -> None:
    import asyncio

    from metatrace.middleware import TraceMiddleware

    async def async_view(request: Any) -> Any:
        return None

    assert TraceMiddleware.sync_capable and TraceMiddleware.async_capable
    assert asyncio.iscoroutinefunction(TraceMiddleware(async_view)) is True
    assert asyncio.iscoroutinefunction(TraceMiddleware(lambda request: None)) is False


def test_context_is_restored_when_the_view_raises(client: Client) -> None:
    client.raise_request_exception = True
    with pytest.raises(RuntimeError, match="view failed"):
        client.get("/t/failing/", headers=HEADERS)
    assert metatrace.get_active() is None


def test_hostile_headers_never_break_a_request(client: Client) -> None:
    response = client.get(
        "/t/tag/",
        headers={
            "sentry-trace": '"><script>alert(1)</script>',
            "baggage": "sentry-trace_id=x,=,;;," * 2000,
            "traceparent": "\x7f" * 100,
        },
    )
    assert response.status_code == 200
    assert parse_trace_meta(response.content.decode()) == {}


@pytest.mark.parametrize("path", ["/t/streaming/"])
def test_streamed_body_renders_in_the_request_trace(client: Client, path: str) -> None:
    response = client.get(path, headers=HEADERS)
    html = b"".join(response.streaming_content).decode()  # type: ignore[attr-defined]
    assert parse_trace_meta(html)["sentry-trace"].startswith(INCOMING_TRACE)
    assert metatrace.get_active() is None


@pytest.mark.asyncio
async def test_async_streamed_body_renders_in_the_request_trace() -> None:
    response = await AsyncClient().get("/t/async-streaming/", headers=HEADERS)
    chunks = [chunk async for chunk in response.streaming_content]  # type: ignore[attr-defined]
    html = b"".join(chunks).decode()
    assert parse_trace_meta(html)["sentry-trace"].startswith(INCOMING_TRACE)


def test_a_stream_the_client_leaves_is_closed_in_the_request_trace(client: Client) -> None:
    from tests import urls

    urls.closed_in.clear()
    response = client.get("/t/endless/", headers=HEADERS)
    first = next(iter(response.streaming_content))  # type: ignore[attr-defined]
    assert parse_trace_meta(first.decode())["sentry-trace"].startswith(INCOMING_TRACE)
    response.close()  # what the server does when the client goes away
    assert urls.closed_in == [INCOMING_TRACE]
    assert metatrace.get_active() is None


# A nested run of the middleware chain keeps the request's trace (docs/maintainers/design.md,
# decision 10). The outer views of tests/nested_urls.py do what Wagtail's preview does:
# build a dummy request with no trace headers and run the whole middleware chain again on it,
# inside the real request. -------------------------------------------------------------------

NESTED_HEADERS = {"sentry-trace": f"{INCOMING_TRACE}-{INCOMING_SPAN}-1"}


def _assert_one_trace(body: dict[str, Any], incoming: str | None) -> None:
    outer = parse_trace_meta(body["outer"])["sentry-trace"]
    inner = parse_trace_meta(body["inner"])["sentry-trace"]
    # The same trace and the same span: the inner run renders the request's own context.
    assert inner == outer == body["inner_attribute"] == body["outer_attribute"]
    if incoming is not None:
        assert split_sentry_trace(outer)[0] == incoming


@pytest.mark.parametrize("headers", [NESTED_HEADERS, {}], ids=["continued", "started-here"])
def test_a_nested_run_keeps_the_requests_trace(headers: dict[str, str]) -> None:
    metatrace.configure(public_key="abc")  # so that a trace started here renders its tags
    body = json.loads(Client().get("/outer/", headers=headers).content)
    _assert_one_trace(body, INCOMING_TRACE if headers else None)


@pytest.mark.asyncio
@pytest.mark.parametrize("headers", [NESTED_HEADERS, {}], ids=["continued", "started-here"])
async def test_a_nested_async_run_keeps_the_requests_trace(headers: dict[str, str]) -> None:
    metatrace.configure(public_key="abc")
    response = await AsyncClient().get("/async-outer/", headers=headers)
    _assert_one_trace(json.loads(response.content), INCOMING_TRACE if headers else None)


def test_a_trace_active_outside_any_request_is_not_the_requests() -> None:
    # A test or a script that continued a trace and then sends a request: the request is a new
    # one and continues its own headers (or starts its own trace), not the script's.
    metatrace.configure(public_key="abc")
    with metatrace.trace_scope({"sentry-trace": "f" * 32 + "-" + "1" * 16}) as script:
        continued = json.loads(Client().get("/outer/", headers=NESTED_HEADERS).content)
        started = json.loads(Client().get("/outer/").content)
        assert metatrace.current_trace() is script
    _assert_one_trace(continued, INCOMING_TRACE)
    _assert_one_trace(started, None)
    assert split_sentry_trace(parse_trace_meta(started["outer"])["sentry-trace"])[0] != "f" * 32


def test_the_next_request_is_not_nested() -> None:
    # The marker ends with the request: a later request on the same thread continues its own.
    metatrace.configure(public_key="abc")
    first = json.loads(Client().get("/outer/", headers=NESTED_HEADERS).content)
    second = json.loads(Client().get("/outer/").content)
    assert split_sentry_trace(parse_trace_meta(second["outer"])["sentry-trace"])[0] != (
        INCOMING_TRACE
    )
    assert first["outer_attribute"] != second["outer_attribute"]


def test_a_nested_run_inside_a_trace_the_view_made_active_gets_that_trace() -> None:
    body = json.loads(Client().get("/scoped-outer/", headers=NESTED_HEADERS).content)
    assert split_sentry_trace(body["inner_attribute"])[0] == "c" * 32


# __acall__ is a twin of __call__: each page leaves the same way through both.
CACHE_OUTSIDE = [
    "django.middleware.cache.UpdateCacheMiddleware",
    "metatrace.middleware.TraceMiddleware",
    "django.middleware.cache.FetchFromCacheMiddleware",
]


def _leaves(response: Any) -> tuple[int, list[str], list[str], list[str]]:
    """What a page leaves with, of what the two paths decide: its status, its header names,
    its tags' names, and its Server-Timing entries' names."""
    from metatrace._core.timing import parse_server_timing

    tags = parse_trace_meta(response.content.decode())
    metrics, _ = parse_server_timing([response.get("Server-Timing", "")])
    names = sorted(name.lower() for name in response.headers if name.lower() != "date")
    return response.status_code, names, list(tags), [metric.name for metric in metrics]


@pytest.mark.parametrize("cache", [False, True], ids=["", "cache-outside"])
@pytest.mark.parametrize("path", [*VIEWS, "/t/cache-page/", "/t/failing/"])
def test_the_async_path_makes_what_the_sync_path_makes(
    settings: Any, path: str, cache: bool
) -> None:
    from asgiref.sync import async_to_sync
    from django.core.cache import cache as django_cache

    if cache:
        settings.MIDDLEWARE = CACHE_OUTSIDE
    django_cache.clear()
    sync = Client(raise_request_exception=False).get(path, headers=HEADERS)
    django_cache.clear()
    get = async_to_sync(AsyncClient(raise_request_exception=False).get)
    pages = [sync, get(path, headers=HEADERS)]
    assert _leaves(pages[0]) == _leaves(pages[1])


# A page the cache middleware outside will store, and the page's view named in the warnings,
# whichever way the page leaves. ------------------------------------------------------------


def _stale_view(request: Any) -> Any:
    from django.http import HttpResponse

    from tests.adapter_pages import STALE_HEAD

    return HttpResponse(f"{STALE_HEAD}<p>page</p></body></html>")


def _private_stale_view(request: Any) -> Any:
    response = _stale_view(request)
    response["Cache-Control"] = "private, max-age=60"
    return response


def _urls() -> list[Any]:
    from django.urls import include, path

    return [
        path("stale/", _stale_view, name="stale"),
        path("private-stale/", _private_stale_view, name="private-stale"),
        path("", include("tests.nested_urls")),
    ]


urlpatterns = _urls()  # this module is the URLconf of the tests marked with it


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
def test_the_page_the_cache_outside_stores_leaves_without_the_visitors_trace(
    settings: Any, asynchronous: bool
) -> None:
    # The cache middleware outside adds Cache-Control: max-age only after TraceMiddleware saw
    # the page: the rehearsal tells it that a shared cache may store it, so even the first
    # visitor's copy (the one stored, and the one a CDN in front may keep) carries no trace.
    from asgiref.sync import async_to_sync
    from django.core.cache import cache

    from metatrace._core.timing import parse_server_timing

    settings.MIDDLEWARE = CACHE_OUTSIDE
    cache.clear()
    if asynchronous:
        response = async_to_sync(AsyncClient().get)("/t/tag/", headers=HEADERS)
    else:
        response = Client().get("/t/tag/", headers=HEADERS)
    assert "max-age=" in response["Cache-Control"]  # the cache outside stored it
    assert parse_trace_meta(response.content.decode()) == {}
    metrics, _ = parse_server_timing([response.get("Server-Timing", "")])
    assert not {"sentry-trace", "baggage", "traceparent"} & {metric.name for metric in metrics}
    assert INCOMING_TRACE not in response.content.decode()


@pytest.mark.urls(__name__)
@pytest.mark.usefixtures("_warnings_given_anew")
@pytest.mark.parametrize(
    "path, view, strip",
    [
        ("/stale/", "stale", False),  # stored by the cache outside, not stripped
        ("/private-stale/", "private-stale", True),  # not stored: private
    ],
)
def test_stale_tags_under_the_cache_outside_are_replaced_and_name_their_view(
    settings: Any, caplog: Any, path: str, view: str, strip: bool
) -> None:
    from django.core.cache import cache

    from tests.adapter_pages import OTHER

    settings.MIDDLEWARE = CACHE_OUTSIDE
    cache.clear()
    metatrace.configure(strip_cacheable=strip)
    with caplog.at_level("WARNING", logger="metatrace"):
        response = Client().get(path, headers=HEADERS)
    html = response.content.decode()
    assert split_sentry_trace(parse_trace_meta(html)["sentry-trace"])[0] == INCOMING_TRACE
    assert OTHER not in html
    assert f"the view {view!r} rendered the trace tags of another trace" in caplog.text


def test_server_timing_is_sent_as_django_spells_it(client: Client) -> None:
    # The name as the server sends it on the wire: Django's own spelling of a header it sets.
    for path in ["/t/tag/", "/t/private/"]:  # the common page, and one with Cache-Control
        response = client.get(path, headers=HEADERS)
        names = [name for name, _ in response.items()]
        assert "Server-Timing" in names, names


# OpenTelemetry as the source: the request's span, from the request's start to its body's end.


def test_a_page_rendered_in_a_child_span_names_the_request_span(rf: Any) -> None:
    from django.http import HttpResponse

    from metatrace.middleware import TraceMiddleware

    tracer = otel_source()

    def view(request: Any) -> Any:
        with tracer.start_as_current_span("render"):
            return HttpResponse(f"<html><head>{metatrace.trace_meta()}</head></html>")

    with tracer.start_as_current_span("server") as server:
        response = TraceMiddleware(view)(rf.get("/"))
    assert parse_trace_meta(response.content.decode())["traceparent"] == otel_traceparent(server)


@pytest.mark.asyncio
async def test_an_async_page_rendered_in_a_child_span_names_the_request_span() -> None:
    from django.http import HttpResponse
    from django.test import AsyncRequestFactory

    from metatrace.middleware import TraceMiddleware

    tracer = otel_source()

    async def view(request: Any) -> Any:
        with tracer.start_as_current_span("render"):
            return HttpResponse(f"<html><head>{metatrace.trace_meta()}</head></html>")

    with tracer.start_as_current_span("server") as server:
        response = await TraceMiddleware(view)(AsyncRequestFactory().get("/"))
    assert parse_trace_meta(response.content.decode())["traceparent"] == otel_traceparent(server)


def test_a_body_streamed_after_the_span_ended_names_that_span(rf: Any) -> None:
    from django.http import StreamingHttpResponse

    from metatrace.middleware import TraceMiddleware
    from tests.adapter_pages import _entries

    tracer = otel_source()

    def view(request: Any) -> Any:
        def body() -> Any:
            yield "<!doctype html><html><head>"
            yield str(metatrace.trace_meta())
            yield "</head><body>streamed</body></html>"

        return StreamingHttpResponse(body(), content_type="text/html")

    with tracer.start_as_current_span("server") as server:
        response = TraceMiddleware(view)(rf.get("/"))
    html = b"".join(response.streaming_content).decode()  # the server, after the span ended
    assert parse_trace_meta(html)["traceparent"] == otel_traceparent(server)
    assert _entries(response["Server-Timing"])["traceparent"] == otel_traceparent(server)


@pytest.mark.asyncio
async def test_an_async_body_streamed_after_the_span_ended_names_that_span() -> None:
    from django.http import StreamingHttpResponse
    from django.test import AsyncRequestFactory

    from metatrace.middleware import TraceMiddleware

    tracer = otel_source()

    async def view(request: Any) -> Any:
        async def body() -> Any:
            yield "<!doctype html><html><head>"
            yield str(metatrace.trace_meta())
            yield "</head><body>streamed</body></html>"

        return StreamingHttpResponse(body(), content_type="text/html")

    with tracer.start_as_current_span("server") as server:
        response = await TraceMiddleware(view)(AsyncRequestFactory().get("/"))
    chunks = [chunk async for chunk in response.streaming_content]
    assert parse_trace_meta(b"".join(chunks).decode())["traceparent"] == otel_traceparent(server)


@pytest.mark.asyncio
async def test_the_request_span_is_no_longer_named_once_an_async_request_left() -> None:
    # The span current after the request (a child of the server span, say) is named again.
    from django.http import HttpResponse
    from django.test import AsyncRequestFactory

    from metatrace.middleware import TraceMiddleware

    tracer = otel_source()

    async def view(request: Any) -> Any:
        return HttpResponse("<html><head></head></html>")

    with tracer.start_as_current_span("server"):
        await TraceMiddleware(view)(AsyncRequestFactory().get("/"))
        with tracer.start_as_current_span("after") as after:
            tags = parse_trace_meta(str(metatrace.trace_meta()))
    assert tags["traceparent"] == otel_traceparent(after)


# A stream the client leaves: the view's clean-up runs in the request's trace, as any of its
# code does (its tags rendered, not withheld). --------------------------------------------


def test_a_stream_the_client_leaves_is_cleaned_up_with_the_requests_tags(rf: Any) -> None:
    from django.http import StreamingHttpResponse

    from metatrace.middleware import TraceMiddleware

    cleaned_up: list[str] = []

    def view(request: Any) -> Any:
        def body() -> Any:
            try:
                while True:
                    yield "<p>more</p>"
            finally:
                cleaned_up.append(str(metatrace.trace_meta()))

        return StreamingHttpResponse(body(), content_type="text/html")

    response = TraceMiddleware(view)(rf.get("/", headers=HEADERS))
    next(iter(response.streaming_content))
    response.close()  # what the server does when the client goes away
    [tags] = cleaned_up
    assert split_sentry_trace(parse_trace_meta(tags)["sentry-trace"])[0] == INCOMING_TRACE
