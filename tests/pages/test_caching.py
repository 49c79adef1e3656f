"""metatrace/_pages/caching.py: which responses a shared cache may store.

Cached pages must not carry one visitor's trace to another (docs/maintainers/design.md,
decision 6)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils.http import http_date

from metatrace._pages.caching import is_shared_cacheable
from tests.conftest import parse_trace_meta
from tests.pages.stripping import needs_stripping
from tests.pages.visitors import A, B, _assert_no_trace_of, _two_visitors

pytestmark = [pytest.mark.urls("tests.urls"), pytest.mark.usefixtures("django_config")]


@pytest.fixture(autouse=True)
def _empty_cache() -> None:
    cache.clear()


def test_cache_page_never_shows_a_visitor_anothers_trace(client: Client) -> None:
    first, second = _two_visitors(client, "/t/cache-page/")
    assert first == second  # the second visitor got the cached page...
    _assert_no_trace_of(second, A, B)  # ...with nobody's trace in it
    assert parse_trace_meta(second) == {}


def test_public_cache_control_drops_the_tags(client: Client) -> None:
    assert parse_trace_meta(client.get("/t/public/", headers=A).content.decode()) == {}


def test_private_pages_keep_their_tags(client: Client) -> None:
    tags = parse_trace_meta(client.get("/t/private/", headers=A).content.decode())
    assert tags["sentry-trace"].startswith("a" * 32)


def test_the_setting_keeps_tags_on_cacheable_pages(client: Client, settings: Any) -> None:
    settings.METATRACE = {**settings.METATRACE, "STRIP_CACHEABLE": False}
    tags = parse_trace_meta(client.get("/t/public/", headers=A).content.decode())
    assert tags["sentry-trace"].startswith("a" * 32)


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


# Expires against Date, when Date is not now ----------------------------------------------------

LONG_AGO = "Mon, 01 Jan 2001 00:00:00 GMT"


@pytest.mark.parametrize(
    "expires, date, shared",
    [
        ("Mon, 01 Jan 2001 00:00:01 GMT", LONG_AGO, True),  # fresh for a second after Date
        ("Mon, 01 Jan 2001 00:00:00 GMT", LONG_AGO, False),
        ("Sun, 31 Dec 2000 23:59:59 GMT", LONG_AGO, False),
        ("Mon, 01 Jan 2001 01:00:00 GMT", LONG_AGO, True),  # both long past: Date decides
        ("Thu, 01 Jan 2099 00:00:00 GMT", "Fri, 01 Jan 2100 00:00:00 GMT", False),  # after now
        ("Fri, 01 Jan 2100 00:00:01 GMT", "Fri, 01 Jan 2100 00:00:00 GMT", True),
        ("Mon, 01 Jan 2001 00:00:01", "Mon, 01 Jan 2001 00:00:00", True),  # no zone: GMT
        ("Mon, 01 Jan 2001 01:00:01 +0100", LONG_AGO, True),  # zones are honoured
        ("Mon, 01 Jan 2001 01:00:00 +0100", LONG_AGO, False),
        # An unreadable Date (or none): the time of receipt, now.
        ("Mon, 01 Jan 2001 01:00:00 GMT", "garbage", False),
        ("Thu, 01 Jan 2099 00:00:00 GMT", "garbage", True),
        ("Thu, 01 Jan 2099 00:00:00 GMT", "", True),
        ("Thu, 01 Jan 2099 00:00:00 GMT", "Thu, 32 Jan 2099 00:00:00 GMT", True),
        ("Mon, 01 Jan 2001 01:00:00 GMT", "Mon, 01 Jan 99999 00:00:00 GMT", False),
        # An unreadable Expires is in the past, whatever Date says.
        ("0", LONG_AGO, False),
        ("Thu, 01 Jan 2099 25:00:00 GMT", LONG_AGO, False),
    ],
)
def test_expires_is_compared_with_the_response_date(expires: str, date: str, shared: bool) -> None:
    assert is_shared_cacheable(None, expires, date) is shared
    headers = [("Content-Type", "text/html"), ("Expires", expires), ("Date", date)]
    assert needs_stripping(headers) is shared


def test_a_date_without_a_zone_is_gmt_whatever_the_local_zone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Nine hours east of GMT: read as local time, the zone-less Expires would lie before Date.
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    try:
        assert is_shared_cacheable(None, "Mon, 01 Jan 2001 00:00:01", LONG_AGO) is True
        assert is_shared_cacheable(None, LONG_AGO, "Mon, 01 Jan 2001 00:00:01") is False
    finally:
        monkeypatch.undo()
        time.tzset()


@pytest.mark.parametrize(
    "cache_control, shared",
    [
        ("max-age=1", True),
        ("max-age=0", False),
        ("max-age=01", True),
        ("max-age=-1", False),
        ("max-age=", False),
        ("MAX-AGE=60", True),
        ("S-MAXAGE=60", True),
        ("NO-STORE, PUBLIC", False),
        ('max-age="0"', False),
        ("s-maxage=0", True),  # a shared cache may store it, if only to revalidate
        ("public, max-age=0", True),
        ("no-store, s-maxage=60", False),
        ("max-age=60, no-store", False),
        ("max-age = 60", True),
        ("max_age=60", False),
        ("max-age=60=60", False),
    ],
)
def test_max_age_at_zero_and_one(cache_control: str, shared: bool) -> None:
    assert is_shared_cacheable(cache_control) is shared


def test_max_age_overrides_expires_both_ways() -> None:
    future = "Thu, 01 Jan 2099 00:00:00 GMT"
    assert is_shared_cacheable("max-age=0", future) is False
    assert is_shared_cacheable("max-age=", future) is False  # present, if unreadable
    assert is_shared_cacheable('max-age=""', future) is False
    assert is_shared_cacheable("max-age=1", LONG_AGO) is True
