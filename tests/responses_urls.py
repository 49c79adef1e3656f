"""tests.urls plus the pages of tests/pages/test_responses.py (under /r/)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.http.response import ResponseHeaders
from django.shortcuts import render
from django.template import engines
from django.urls import include, path
from django.views.decorators.cache import cache_control
from django.views.generic import TemplateView

import metatrace
from metatrace._pages.responses import HEAD_LIMIT
from metatrace._pages.templating import lazy_trace_meta

# Tags of a trace that is nobody's request, as a cached fragment would hold them.
OTHER_TRACE = "0123456789abcdef0123456789abcdef"
OTHER_TAGS = (
    f'<meta name="sentry-trace" content="{OTHER_TRACE}-0123456789abcdef-1">'
    f'<meta name="baggage" content="sentry-trace_id={OTHER_TRACE},sentry-public_key=other">'
)
NO_TAGS_PAGE = (
    "<!DOCTYPE html><html lang=en><HEAD data-x=1><title>no tags</title></HEAD>"
    "<body><header>not the head</header><p>content</p>"
    + "<p>Long enough for GZipMiddleware to compress it.</p>" * 5
    + "</body></html>"
)
# 20 KB, as a head with inline critical CSS runs; more than the 8 KB an earlier version read.
LONG_COMMENT = "<!-- " + "x" * 20_000 + " -->"
PAST_LIMIT = "<!-- " + "x" * HEAD_LIMIT + " -->"  # a head longer than HEAD_LIMIT
EXISTING_TIMING = 'db;dur=53, cache;desc="hit, miss";dur=1.5'


def fragment(request: HttpRequest) -> HttpResponse:
    return render(request, "tests/fragment.html")


def fragment_include(request: HttpRequest) -> HttpResponse:
    return render(request, "tests/fragment_include.html")


def no_tags(request: HttpRequest) -> HttpResponse:
    return HttpResponse(NO_TAGS_PAGE)


def body_tags(request: HttpRequest) -> HttpResponse:
    """Another trace's tags in the body only: that is content, not the page's trace."""
    return HttpResponse(f"<html><head><title>t</title></head><body><pre>{OTHER_TAGS}</pre></body>")


def late_tags(request: HttpRequest) -> HttpResponse:
    """Another trace's tags in a head, after 20 KB of it."""
    return HttpResponse(f"<html><head>{LONG_COMMENT}{OTHER_TAGS}</head><body></body></html>")


def past_limit_tags(request: HttpRequest) -> HttpResponse:
    """Another trace's tags in a head, but past the first HEAD_LIMIT bytes."""
    return HttpResponse(f"<html><head>{PAST_LIMIT}{OTHER_TAGS}</head><body></body></html>")


def stale_head(request: HttpRequest) -> HttpResponse:
    return HttpResponse(f"<html><head>{OTHER_TAGS}<title>t</title></head><body></body></html>")


class _OrderedHeaders(ResponseHeaders):
    """Headers kept in another store than Django's own dict, as a response class of another
    package might keep them: the middleware reads them through the public items()."""

    def __init__(self, data: dict[str, str]) -> None:
        super().__init__(data)
        self._store = OrderedDict(self._store)


class _UnstoredHeaders(dict[str, str]):
    """Headers with no `_store` at all: a plain mapping of lowercase names."""

    def __setitem__(self, name: str, value: str) -> None:
        super().__setitem__(name.lower(), value)

    def __getitem__(self, name: str) -> str:
        return super().__getitem__(name.lower())

    def __delitem__(self, name: str) -> None:
        super().__delitem__(name.lower())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and super().__contains__(name.lower())


def stale_head_other_headers(request: HttpRequest) -> HttpResponse:
    response = stale_head(request)
    kind = request.GET.get("kind", "ordered")
    items = dict(response.items())
    response.headers = _OrderedHeaders(items) if kind == "ordered" else _UnstoredHeaders(items)
    response["Server-Timing"] = EXISTING_TIMING
    if "etag" in request.GET:
        response["ETag"] = '"v1"'
    return response


def untyped(request: HttpRequest) -> HttpResponse:
    """An HTML body without a Content-Type: no page, as far as the middleware can tell."""
    response = stale_head(request)
    del response["Content-Type"]
    return response


def early_stale_page(get_response: Any) -> Any:
    """A middleware that answers before any URL is resolved (a maintenance page, say), with
    another trace's tags in the head."""

    def middleware(request: HttpRequest) -> HttpResponse:
        return stale_head(request)

    return middleware


def public_from_outside(get_response: Any) -> Any:
    """A middleware above TraceMiddleware that makes every response shared-cacheable."""

    def middleware(request: HttpRequest) -> HttpResponse:
        response = get_response(request)
        response["Cache-Control"] = "public, max-age=60"
        return response

    return middleware


async def async_stale_head(request: HttpRequest) -> HttpResponse:
    return stale_head(request)


def stale_head_again(request: HttpRequest) -> HttpResponse:
    """stale_head under a view name of its own, for the warning given once per view."""
    return stale_head(request)


def with_status(request: HttpRequest, status: int) -> HttpResponse:
    """An HTML body with another trace's tags in its head, under any status."""
    return HttpResponse(f"<html><head>{OTHER_TAGS}</head><body></body></html>", status=status)


def cut_tag(request: HttpRequest) -> HttpResponse:
    """Another trace's tag whose start lies in the first HEAD_LIMIT bytes and its end past."""
    start = "<html><head><!-- "
    padding = "x" * (HEAD_LIMIT - 40 - len(start) - len(" -->"))
    return HttpResponse(f"{start}{padding} -->{OTHER_TAGS}</head><body></body></html>")


@cache_control(public=True, max_age=60)
def public_no_tags(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(NO_TAGS_PAGE)
    response["ETag"] = '"v1"'
    return response


@cache_control(public=True, max_age=60)
def public_timed_as_asked(request: HttpRequest) -> HttpResponse:
    """A cacheable page whose Server-Timing is the query's `timing`."""
    response = render(request, "tests/tag.html")
    response["Server-Timing"] = request.GET["timing"]
    return response


def traceparent_only(request: HttpRequest) -> HttpResponse:
    """Another trace's W3C tag alone in the head (a site without a DSN)."""
    tag = f'<meta name="traceparent" content="00-{OTHER_TRACE}-0123456789abcdef-01">'
    return HttpResponse(f"<html><head>{tag}<title>t</title></head><body></body></html>")


def spaced_head(request: HttpRequest) -> HttpResponse:
    return HttpResponse("<html><head ><title>t</title></head><body></body></html>")


def timed(request: HttpRequest) -> HttpResponse:
    response = render(request, "tests/tag.html")
    response["Server-Timing"] = EXISTING_TIMING
    return response


def timed_with_old_entries(request: HttpRequest) -> HttpResponse:
    response = render(request, "tests/tag.html")
    response["Server-Timing"] = (
        f'sentry-trace;desc="{OTHER_TRACE}-0123456789abcdef-1", {EXISTING_TIMING}, '
        f'baggage;desc="sentry-trace_id={OTHER_TRACE}", note;desc="sentry-trace, baggage"'
    )
    return response


def streaming_no_tags(request: HttpRequest) -> StreamingHttpResponse:
    def body() -> Iterator[str]:
        yield "<html><head><title>streamed</title></head>"
        yield "<body></body></html>"

    return StreamingHttpResponse(body())


def unended_head(request: HttpRequest) -> HttpResponse:
    """A page that ends inside its head: no </head>, no <body> (both tags are optional)."""
    return HttpResponse("<html><head><title>t</title>")


def long_head(request: HttpRequest) -> HttpResponse:
    """A page whose head ends after 20 KB."""
    return HttpResponse(f"<html><head>{LONG_COMMENT}</head><body></body></html>")


def past_limit_head(request: HttpRequest) -> HttpResponse:
    """A page whose head ends only after the first HEAD_LIMIT bytes."""
    return HttpResponse(f"<html><head>{PAST_LIMIT}</head><body></body></html>")


def headless(request: HttpRequest) -> HttpResponse:
    """A page without the (optional) <head> start tag, whose body starts with a <header>."""
    return HttpResponse(
        "<!doctype html><html lang=en><title>t</title><header><h1>Shop</h1></header>"
        "<main>content</main></html>"
    )


def fragment_page(request: HttpRequest) -> HttpResponse:
    """An htmx-style fragment: no head at all, longer than a head scan's first look."""
    return HttpResponse("<tr><td>row</td></tr>" * 1000)


def head_script_spells_the_end(request: HttpRequest) -> HttpResponse:
    """A script in the head that writes "</head>" and "<body>" before another trace's tags."""
    return HttpResponse(
        "<html><head><script>document.write('</head><body>');</script>"
        f"<!-- </head> -->{OTHER_TAGS}</head><body></body></html>"
    )


def foreign_tag(request: HttpRequest) -> HttpResponse:
    """Another trace's tag, in a spelling that metatrace does not render."""
    tag = f'<meta name="sentry-trace" content="{OTHER_TRACE}-0123456789abcdef-1" />'
    return HttpResponse(f"<html><head>{tag}</head><body></body></html>")


def twice(request: HttpRequest) -> HttpResponse:
    """This request's tags, rendered twice in the head."""
    return render(request, "tests/twice.html")


def cached_include(request: HttpRequest) -> HttpResponse:
    """A cached include of the tags, then the tag itself: one trace twice on the first visit,
    then the first visitor's trace and this one's."""
    return render(request, "tests/cached_include.html")


def stale_head_and_body_tags(request: HttpRequest) -> HttpResponse:
    """Another trace's tags in the head, which are stale, and in the body, which is content."""
    return HttpResponse(
        f"<html><head>{OTHER_TAGS}<title>t</title></head><body><pre>{OTHER_TAGS}</pre></body>"
    )


def stale_head_timed(request: HttpRequest) -> HttpResponse:
    """A stale head on a page with Server-Timing of its own: not the common page."""
    response = stale_head(request)
    response["Server-Timing"] = EXISTING_TIMING
    return response


@cache_control(public=True, max_age=60)
def streaming_public_tags(request: HttpRequest) -> StreamingHttpResponse:
    """A page that a shared cache may store, streamed with another trace's tags."""

    def body() -> Iterator[str]:
        yield f"<html><head>{OTHER_TAGS}<title>streamed</title></head>"
        yield "<body></body></html>"

    response = StreamingHttpResponse(body())
    response["Server-Timing"] = EXISTING_TIMING
    return response


# Every way a streamed page renders the tags as it streams, by name.
STREAM_RENDERERS: dict[str, Callable[[HttpRequest], str]] = {
    "function": lambda request: str(metatrace.trace_meta()),
    "str": lambda request: str(lazy_trace_meta),
    "request-context": lambda request: str(request.metatrace.meta()),  # type: ignore[attr-defined]
    "current-trace": lambda request: str(metatrace.current_trace().meta()),
    "tag": lambda request: (
        engines["django"]
        .from_string("{% load metatrace %}{% trace_meta %}")
        .render(request=request)
    ),
    "tag-as": lambda request: (
        engines["django"]
        .from_string("{% load metatrace %}{% trace_meta as tags %}{{ tags }}")
        .render(request=request)
    ),
    "context-processor": lambda request: (
        engines["django"].from_string("{{ trace_meta }}").render(request=request)
    ),
    "jinja-call": lambda request: (
        engines["jinja2"].from_string("{{ trace_meta() }}").render(request=request)
    ),
    "jinja-name": lambda request: (
        engines["jinja2"].from_string("{{ trace_meta }}").render(request=request)
    ),
}


def streaming_rendered(request: HttpRequest, how: str) -> StreamingHttpResponse:
    """A page whose tags render while it streams, after the middleware saw its headers; its
    body names the trace that is active then."""

    def body() -> Iterator[str]:
        yield "<html><head>"
        yield STREAM_RENDERERS[how](request)
        yield f'</head><body data-traceparent="{metatrace.get_traceparent()}"></body></html>'

    return StreamingHttpResponse(body())


@cache_control(public=True, max_age=60)
def streaming_public_failing(request: HttpRequest) -> StreamingHttpResponse:
    """A cacheable stream whose view's generator fails after its first chunk."""

    def body() -> Iterator[str]:
        yield "<html><head>"
        raise RuntimeError("the stream failed")

    return StreamingHttpResponse(body())


async def async_streaming_public_rendered(request: HttpRequest) -> StreamingHttpResponse:
    async def body() -> AsyncIterator[str]:
        yield "<html><head>"
        yield str(metatrace.trace_meta())
        yield f'</head><body data-traceparent="{metatrace.get_traceparent()}"></body></html>'

    response = StreamingHttpResponse(body())
    response["Cache-Control"] = "public, max-age=60"
    return response


def json_view(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"html": False})


response_patterns = [
    path("bare/", TemplateView.as_view(template_name="tests/bare.html")),
    path("fragment/", fragment),
    path("fragment-include/", fragment_include),
    path("no-tags/", no_tags),
    path("body-tags/", body_tags),
    path("late-tags/", late_tags),
    path("past-limit-tags/", past_limit_tags),
    path("past-limit-head/", past_limit_head),
    path("headless/", headless),
    path("fragment-page/", fragment_page),
    path("head-script/", head_script_spells_the_end),
    path("twice/", twice),
    path("foreign-tag/", foreign_tag),
    path("cached-include/", cached_include),
    path("stale-head/", stale_head),
    path("stale-head-again/", stale_head_again),
    path("async-stale-head/", async_stale_head),
    path("stale-head-other-headers/", stale_head_other_headers),
    path("status/<int:status>/", with_status),
    path("cut-tag/", cut_tag),
    path("public-no-tags/", public_no_tags),
    path("public-timed-as-asked/", public_timed_as_asked),
    path("traceparent-only/", traceparent_only),
    path("spaced-head/", spaced_head),
    path("timed/", timed),
    path("timed-old/", timed_with_old_entries),
    path("timed-public/", cache_control(public=True, max_age=60)(timed)),
    path("streaming-no-tags/", streaming_no_tags),
    path("streaming-public-tags/", streaming_public_tags),
    path("streaming-rendered/<str:how>/", streaming_rendered),
    path(
        "streaming-public-rendered/<str:how>/",
        cache_control(public=True, max_age=60)(streaming_rendered),
    ),
    path("async-streaming-public-rendered/", async_streaming_public_rendered),
    path("streaming-public-failing/", streaming_public_failing),
    path("stale-head-and-body-tags/", stale_head_and_body_tags),
    path("stale-head-timed/", stale_head_timed),
    path("unended-head/", unended_head),
    path("long-head/", long_head),
    path("json/", json_view),
    path("untyped/", untyped),
]

urlpatterns = [
    path("r/", include(response_patterns)),
    path("", include("tests.urls")),
]
