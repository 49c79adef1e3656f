"""metatrace/checker/fetch.py: fetching a page as a browser would."""

from __future__ import annotations

from typing import Any

import pytest

from metatrace.checker import OK, UNREACHABLE, FetchError, Hop, check, fetch, render
from tests.checker.servers import SITE_DSN, _django_server, _texts, _with_dsn
from tests.conftest import parse_trace_meta

pytestmark = [pytest.mark.usefixtures("django_config")]


@pytest.mark.urls("tests.urls")
def test_a_gzipped_page_is_read(settings: Any) -> None:
    _with_dsn(settings)
    middleware = ["django.middleware.gzip.GZipMiddleware", "metatrace.middleware.TraceMiddleware"]
    with _django_server(middleware, settings) as url:
        page = fetch(url + "/", {}, timeout=10)
        report = check(url + "/", dsn=SITE_DSN)
    assert page.header("content-encoding") == ["gzip"]
    assert parse_trace_meta(page.html)  # the tags were read from the decompressed body
    assert report.exit_status == OK, render(report)


def test_a_broken_gzip_body_holds_no_tags(odd: str) -> None:
    report = check(odd + "/broken-gzip/")
    assert "no trace meta tags" in _texts(report, "info")
    assert _texts(report, "fail") == ["not continued: the page hands the browser no trace at all"]


def test_an_unknown_charset_is_read_as_utf8(odd: str) -> None:
    report = check(odd + "/unknown-charset/", dsn=SITE_DSN)
    assert report.exit_status == OK, render(report)


def test_an_error_status_is_a_page_too(odd: str) -> None:
    report = check(odd + "/missing/", dsn=SITE_DSN)
    assert _texts(report, "warn")[0].startswith("HTTP 404, text/html; charset=utf-8, ")
    assert "continued: same trace id " in " ".join(_texts(report, "ok"))


def test_a_redirect_is_followed_and_named(odd: str) -> None:
    page = fetch(odd + "/redirect/", {})
    assert page.url == f"{odd}/landed/"
    assert page.redirects == (Hop(f"{odd}/redirect/", 302),)
    report = check(odd + "/redirect/")
    assert report.judged == f"{odd}/landed/"
    assert report.fetched == (f"{odd}/redirect/", f"{odd}/landed/") * 2
    assert _texts(report, "info")[1] == (
        f"redirected: {odd}/redirect/ (302) -> {odd}/landed/, the page judged"
    )


def test_a_server_that_hangs_up_is_a_clear_error(odd: str) -> None:
    with pytest.raises(FetchError, match=r"^Remote end closed connection without response$"):
        fetch(odd + "/hang-up/", {})
    report = check(odd + "/hang-up/")
    assert report.error == f"{odd}/hang-up/: Remote end closed connection without response"
    assert report.exit_status == UNREACHABLE and report.sections == []


def test_a_redirect_to_the_same_page_is_named_and_the_page_judged(odd: str) -> None:
    report = check(odd + "/slash", dsn=SITE_DSN, timeout=5)
    assert report.exit_status == OK, render(report)
    assert report.judged == f"{odd}/slash/"
    assert f"redirected: {odd}/slash (301) -> {odd}/slash/, the page judged" in _texts(
        report, "info"
    )


def test_a_page_that_answers_too_late_names_the_fix(odd: str) -> None:
    report = check(odd + "/slow/", timeout=0.5)
    assert report.error == (
        f"{odd}/slow/: no answer in time (a longer --timeout, or is the server up?)"
    )


def test_https_to_a_server_that_speaks_http_names_the_fix(odd: str) -> None:
    url = odd.replace("http://", "https://") + "/"
    report = check(url, timeout=5)
    assert report.error is not None
    assert report.error.startswith(f"{url}: TLS failed: ")
    assert report.error.endswith(" (is it an HTTPS server?)")
