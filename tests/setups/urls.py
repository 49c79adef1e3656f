"""tests.urls, plus the pages of the setups (under /s/)."""

from __future__ import annotations

import os
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import include, path

# Inline critical CSS, as real heads carry it before the tags: 30 KB.
CRITICAL_CSS = ".hero{margin:0 auto;padding:1rem 2rem;color:#123}\n" * 600


def _child_span() -> AbstractContextManager[Any]:
    """A span of the tracer's own, current while the view renders (as a render span is)."""
    tracer = os.environ.get("SETUP_TRACER", "")
    if tracer.startswith("sentry"):
        import sentry_sdk

        if int(sentry_sdk.VERSION.partition(".")[0]) >= 3:  # spans have attributes, no op
            return sentry_sdk.start_span(name="render the page", attributes={"sentry.op": "render"})
        try:
            return sentry_sdk.start_span(op="render", name="render the page")
        except TypeError:  # sentry-sdk before 2.15 calls it a description
            return sentry_sdk.start_span(op="render", description="render the page")
    if tracer == "ddtrace":
        from ddtrace.trace import tracer as dd_tracer

        return dd_tracer.trace("render the page")
    if tracer == "otel":
        from opentelemetry import trace

        return trace.get_tracer("setups").start_as_current_span("render the page")
    return nullcontext()


def child_span(request: HttpRequest) -> HttpResponse:
    with _child_span():
        return render(request, "tests/tag.html")


def big_head(request: HttpRequest) -> HttpResponse:
    """30 KB of head, then a cached include of the tags, then the tag itself."""
    return render(request, "setups/big_head.html", {"css": CRITICAL_CSS})


def big_head_tag(request: HttpRequest) -> HttpResponse:
    """30 KB of head, then the page's own tag (with INJECT on: one set, not two)."""
    return render(request, "setups/big_head_tag.html", {"css": CRITICAL_CSS})


def elastic(request: HttpRequest) -> HttpResponse:
    """The tags, and the JSON script of Elastic's RUM page-load values."""
    return render(request, "setups/elastic.html")


def elastic_cached(request: HttpRequest) -> HttpResponse:
    """The page-load values in a cached include (stale after the first visit); with ?twice,
    also the tag itself (a second script); with ?timed, a Server-Timing entry of its own."""
    response = render(request, "setups/elastic_cached.html", {"twice": "twice" in request.GET})
    if "timed" in request.GET:
        response["Server-Timing"] = "app;dur=1"
    return response


def charset(request: HttpRequest) -> HttpResponse:
    """A head that declares its encoding first, as most do, and prints no tags (INJECT)."""
    return HttpResponse(
        '<!doctype html><html><head><meta charset="utf-8"><title>charset</title></head>'
        "<body><p>\u00e9t\u00e9</p></body></html>"
    )


def twice(request: HttpRequest) -> HttpResponse:
    return render(request, "tests/twice.html")


# The checker in a deploy pipeline (tests/checker/test_cli.py) -----------------------------

# What lets a visitor see /s/private/: a session cookie, or a token.
SESSION, TOKEN = "opensesame-7f3a", "Bearer letmein-91c2"


def private(request: HttpRequest) -> HttpResponse:
    """A page behind a login: without the session or the token, the login page's redirect."""
    if request.COOKIES.get("session") != SESSION and request.headers.get("Authorization") != TOKEN:
        return redirect(f"/s/login/?next={request.path}")
    return render(request, "tests/tag.html")


def login(request: HttpRequest) -> HttpResponse:
    return render(request, "tests/tag.html")


def echo(request: HttpRequest) -> HttpResponse:
    """A page that shows what it was sent (a debug page would): the report must not."""
    said = f"{request.headers.get('Authorization')} {request.COOKIES.get('session')}"
    response = render(request, "tests/tag.html")
    response["Via"] = f"1.1 proxy ({said})"  # the checker reports Via as it came
    return response


def elsewhere(request: HttpRequest) -> HttpResponse:
    """A redirect to another host (the same server, by its other name): the credentials
    given for this one must not follow."""
    host = "localhost" if request.get_host().startswith("127.0.0.1") else "127.0.0.1"
    return redirect(f"http://{host}:{request.get_port()}/s/echo/")


def gone(request: HttpRequest) -> HttpResponse:
    """A redirect to a port where nothing listens."""
    return redirect("http://127.0.0.1:9/moved/")


def representations(request: HttpRequest) -> HttpResponse:
    """An API that answers JSON to a client that asks for it, and HTML to a browser."""
    if "application/json" in request.headers.get("Accept", ""):
        return JsonResponse({"pages": []})
    return render(request, "tests/tag.html")


setup_patterns = [
    path("child-span/", child_span),
    path("big-head/", big_head),
    path("big-head-tag/", big_head_tag),
    path("twice/", twice),
    path("charset/", charset),
    path("private/", private),
    path("login/", login),
    path("echo/", echo),
    path("elsewhere/", elsewhere),
    path("gone/", gone),
    path("api/", representations),
    path("elastic/", elastic),
    path("elastic-cached/", elastic_cached),
]

urlpatterns = [path("s/", include(setup_patterns)), path("", include("tests.urls"))]
