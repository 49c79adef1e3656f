"""Cached pages must not carry one visitor's trace to another (DESIGN.md decision 6)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils.http import http_date

from metatrace.caching import is_shared_cacheable
from tests.conftest import parse_trace_meta

pytestmark = [pytest.mark.urls("tests.urls"), pytest.mark.usefixtures("django_config")]

A = {
    "sentry-trace": f"{'a' * 32}-{'1' * 16}-1",
    "baggage": f"sentry-trace_id={'a' * 32},sentry-user_id=alice",
}
B = {
    "sentry-trace": f"{'b' * 32}-{'2' * 16}-1",
    "baggage": f"sentry-trace_id={'b' * 32},sentry-user_id=bob",
}


@pytest.fixture(autouse=True)
def _empty_cache() -> None:
    cache.clear()


def _two_visitors(client: Client, path: str) -> tuple[str, str]:
    first = client.get(path, headers=A).content.decode()
    second = client.get(path, headers=B).content.decode()
    return first, second


def _assert_no_trace_of(html: str, *visitors: dict[str, str]) -> None:
    for visitor in visitors:
        assert visitor["sentry-trace"][:32] not in html
        assert visitor["baggage"].rsplit("=", 1)[1] not in html


def test_cache_page_never_shows_a_visitor_anothers_trace(client: Client) -> None:
    first, second = _two_visitors(client, "/t/cache-page/")
    assert first == second  # the second visitor got the cached page...
    _assert_no_trace_of(second, A, B)  # ...with nobody's trace in it
    assert parse_trace_meta(second) == {}


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


def test_public_cache_control_drops_the_tags(client: Client) -> None:
    assert parse_trace_meta(client.get("/t/public/", headers=A).content.decode()) == {}


def test_private_pages_keep_their_tags(client: Client) -> None:
    tags = parse_trace_meta(client.get("/t/private/", headers=A).content.decode())
    assert tags["sentry-trace"].startswith("a" * 32)


def test_the_setting_keeps_tags_on_cacheable_pages(client: Client, settings: Any) -> None:
    settings.METATRACE = {**settings.METATRACE, "STRIP_CACHEABLE": False}
    tags = parse_trace_meta(client.get("/t/public/", headers=A).content.decode())
    assert tags["sentry-trace"].startswith("a" * 32)


@pytest.mark.parametrize(
    "header, shared",
    [
        (None, False),
        ("", False),
        ("public", True),
        ("s-maxage=60", True),
        ("max-age=60", True),
        ("max-age=0", False),
        ("max-age=60, private", False),
        ("Private, Max-Age=60", False),
        ("public, no-store", False),
        ("no-cache", False),
        ('max-age="120"', True),
        ("max-age=abc", False),
        ("PUBLIC", True),
    ],
)
def test_shared_cacheability(header: str | None, shared: bool) -> None:
    assert is_shared_cacheable(header) is shared


_PAST, _DATE, _FUTURE = (http_date(time.time() + delta) for delta in (-3600, 0, 3600))


def _when(value: int | str | None) -> str | None:
    """A header value: an int is an offset in seconds from now, turned into an HTTP date
    only when the test runs, so that the test ids stay the same from run to run."""
    return http_date(time.time() + value) if isinstance(value, int) else value


@pytest.mark.parametrize(
    "cache_control, expires, date, shared",
    [
        (None, 3600, None, True),
        (None, 3600, 0, True),
        (None, -3600, None, False),
        (None, 0, 0, False),  # expires the moment it is sent
        (None, "0", None, False),  # invalid means already expired
        (None, 3600, "garbage", True),  # an unreadable Date: the time of receipt
        (None, -3600, "garbage", False),
        (None, "Thu, 01 Jan 2099 00:00:00", None, True),  # no zone: GMT
        ("no-cache", 3600, None, True),  # as with a positive max-age
        ("max-age=0", 3600, None, False),  # max-age overrides Expires
        ("private", 3600, None, False),
        ("no-store", 3600, None, False),
        (None, None, None, False),
    ],
)
def test_expires_counts_without_max_age(
    cache_control: str | None, expires: int | str | None, date: int | str | None, shared: bool
) -> None:
    assert is_shared_cacheable(cache_control, _when(expires), _when(date)) is shared


def test_a_page_with_only_a_future_expires_drops_the_tags(client: Client) -> None:
    response = client.get("/t/expires/", headers=A)
    assert not response.has_header("Cache-Control")
    assert parse_trace_meta(response.content.decode()) == {}


@pytest.mark.parametrize("path", ["/t/public/", "/t/cache-page/"])
def test_stripped_pages_have_a_true_content_length(
    client: Client, settings: Any, path: str
) -> None:
    settings.MIDDLEWARE = [
        "metatrace.middleware.TraceMiddleware",
        "django.middleware.common.CommonMiddleware",  # sets Content-Length
        "django.middleware.http.ConditionalGetMiddleware",  # sets ETag
    ]
    response = client.get(path, headers=A)
    assert parse_trace_meta(response.content.decode()) == {}
    assert int(response["Content-Length"]) == len(response.content)
    assert not response.has_header("ETag")  # it described the page before stripping


def test_compressed_cacheable_pages_are_left_alone_with_a_warning(
    client: Client, settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    settings.MIDDLEWARE = [
        "metatrace.middleware.TraceMiddleware",
        "django.middleware.gzip.GZipMiddleware",
    ]
    response = client.get("/t/public/", headers={**A, "Accept-Encoding": "gzip"})
    assert response["Content-Encoding"] == "gzip"
    assert "compress outside the trace middleware" in caplog.text


def test_only_html_is_stripped() -> None:
    from metatrace.responses import Work, header_map, read_page

    def work(*headers: tuple[str, str]) -> Work | None:
        page = read_page(header_map(headers), 200, complete=True)
        return None if page is None else page.work

    public = ("Cache-Control", "public, max-age=60")
    assert work(public, ("Content-Type", "text/html; charset=utf-8")) is Work.STRIP
    assert work(public, ("Content-Type", "video/mp4")) is None
    assert work(public) is None
    assert work(("Expires", _FUTURE), ("Content-Type", "text/html")) is Work.STRIP
    assert work(("Expires", _PAST), ("Content-Type", "text/html")) is Work.HEAD
    assert (
        work(
            ("Cache-Control", "no-cache"),
            ("Cache-Control", "s-maxage=5"),
            ("Content-Type", "application/xhtml+xml"),
        )
        is Work.STRIP
    )
