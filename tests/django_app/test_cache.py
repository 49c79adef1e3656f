"""metatrace/_django/cache.py: Django's cache middleware on either side of TraceMiddleware."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache
from django.core.checks import Error
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpResponse
from django.test import Client

from metatrace.checks import check_middleware
from metatrace.middleware import TraceMiddleware
from tests.conftest import parse_trace_meta
from tests.pages.visitors import A, B, _assert_no_trace_of, _two_visitors

pytestmark = [pytest.mark.urls("tests.urls"), pytest.mark.usefixtures("django_config")]


@pytest.fixture(autouse=True)
def _empty_cache() -> None:
    cache.clear()


def test_cache_middleware_never_shows_a_visitor_anothers_trace(
    client: Client, settings: Any
) -> None:
    settings.MIDDLEWARE = [
        "django.middleware.cache.UpdateCacheMiddleware",
        "metatrace.middleware.TraceMiddleware",
        "django.middleware.cache.FetchFromCacheMiddleware",
    ]
    _first, second = _two_visitors(client, "/t/tag/")
    # The first visitor's page went into the cache with its own tags (the cache middleware
    # adds Cache-Control only after TraceMiddleware saw the response); the cached copy loses
    # them on its way out through TraceMiddleware.
    _assert_no_trace_of(second, A, B)
    assert parse_trace_meta(second) == {}


def test_cache_middleware_outside_trace_middleware_too(client: Client, settings: Any) -> None:
    settings.MIDDLEWARE = [
        "metatrace.middleware.TraceMiddleware",
        "django.middleware.cache.UpdateCacheMiddleware",
        "django.middleware.cache.FetchFromCacheMiddleware",
    ]
    _first, second = _two_visitors(client, "/t/tag/")
    _assert_no_trace_of(second, A, B)


UPDATE = "django.middleware.cache.UpdateCacheMiddleware"
FETCH = "django.middleware.cache.FetchFromCacheMiddleware"
BOTH = "django.middleware.cache.CacheMiddleware"
TRACE = "metatrace.middleware.TraceMiddleware"


@pytest.mark.parametrize(
    "middleware",
    [
        [UPDATE, TRACE, FETCH],  # Django's documented order: TraceMiddleware rehearses UPDATE
        [TRACE, UPDATE, FETCH],  # every page passes TraceMiddleware last
        [BOTH, TRACE],  # stored after TraceMiddleware stripped it
        [TRACE, BOTH],
        [FETCH, TRACE],  # nothing stores pages
        [UPDATE, FETCH, TRACE],  # stored after TraceMiddleware stripped it
    ],
)
def test_check_cache_middleware_in_orders_that_carry_no_visitors_trace(
    settings: Any, middleware: list[str]
) -> None:
    settings.MIDDLEWARE = middleware
    assert check_middleware() == []


@pytest.mark.parametrize(
    "middleware, fetching, updating",
    [
        ([FETCH, TRACE, UPDATE], FETCH, UPDATE),  # Django's order, reversed
        ([FETCH, TRACE, BOTH], FETCH, BOTH),
        ([BOTH, TRACE, UPDATE], BOTH, UPDATE),
    ],
)
def test_check_cache_middleware_that_serves_stored_pages_around_trace_middleware(
    settings: Any, middleware: list[str], fetching: str, updating: str
) -> None:
    settings.MIDDLEWARE = middleware
    [error] = check_middleware()
    assert isinstance(error, Error) and error.id == "metatrace.E002"
    assert error.msg == (
        f"{fetching} comes before metatrace.middleware.TraceMiddleware and {updating} after "
        "it: the cache stores each page with the trace of the visitor who filled it, and "
        "serves it to the next visitors without passing TraceMiddleware."
    )
    assert error.hint == (
        "Use Django's documented order: UpdateCacheMiddleware first, TraceMiddleware after "
        "it, FetchFromCacheMiddleware last."
    )


@pytest.mark.parametrize(
    "middleware, fetching, updating",
    [([FETCH, TRACE, UPDATE], FETCH, UPDATE), ([BOTH, TRACE, UPDATE], BOTH, UPDATE)],
)
def test_the_middleware_refuses_the_order_that_serves_stored_pages_at_start_up(
    settings: Any, middleware: list[str], fetching: str, updating: str
) -> None:
    # Every server builds the middleware chain before its first request; only manage.py
    # runs the system checks.
    settings.MIDDLEWARE = middleware
    with pytest.raises(ImproperlyConfigured) as refused:
        TraceMiddleware(lambda request: HttpResponse())
    assert str(refused.value) == (
        f"{fetching} comes before metatrace.middleware.TraceMiddleware and {updating} after "
        "it: the cache stores each page with the trace of the visitor who filled it, and "
        "serves it to the next visitors without passing TraceMiddleware. Use Django's "
        "documented order: UpdateCacheMiddleware first, TraceMiddleware after it, "
        "FetchFromCacheMiddleware last. (metatrace.E002)"
    )
