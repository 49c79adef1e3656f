"""metatrace/checker/fetch.py: fetching a page as a browser would."""

from __future__ import annotations

import json
from typing import Any

import pytest

from metatrace.checker import (
    FAILED,
    OK,
    UNREACHABLE,
    FetchedPage,
    FetchError,
    Hop,
    Options,
    check,
    fetch,
    render,
    to_json,
)
from metatrace.checker.cli import main
from metatrace.checker.fetch import MAX_BODY_BYTES, _as_sent, _may_carry
from metatrace.checker.findings import check_redirects
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


# The edges of fetching (tests/checker/servers.py, _Edges) -------------------------------------


def test_credentials_a_page_echoes_into_its_findings_are_never_shown(
    edges: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # A backslash (doubled by repr) and a length past the 200 characters a finding quotes.
    token = "Bearer sk\\live" + "7" * 300
    cookie = "sid=" + "c0ffee" * 50
    status = main(["check", edges + "/echo-credentials/", "-H", f"Authorization: {token}",
                   "--cookie", cookie, "--format", "json"])  # fmt: skip
    out, err = capsys.readouterr()
    assert status == FAILED
    fails = [f["text"] for p in json.loads(out)["pages"] for s in p["sections"]
             for f in s["findings"] if f["level"] == "fail"]  # fmt: skip
    assert "meta sentry-trace: invalid: '[redacted]'" in fails
    assert "meta traceparent: invalid: '[redacted]'" in fails
    for text in (out, err):
        assert "7777777" not in text and "c0ffeec0ffee" not in text and "sk\\\\live" not in text


def test_short_values_given_are_no_secrets_and_leave_the_report_whole(edges: str) -> None:
    given = Options(headers=(("X-Forwarded-Proto", "http"),), cookies=("consent=true",))
    report = check(edges + "/page/", dsn=SITE_DSN, options=given)
    assert report.exit_status == OK, render(report)
    assert "[redacted]" not in render(report) and report.judged == edges + "/page/"


def test_a_user_and_password_in_the_url_are_sent_as_basic_authentication(edges: str) -> None:
    url = edges.replace("http://", "http://admin:hunter2pw@") + "/basic/"
    report = check(url, dsn=SITE_DSN)
    assert report.exit_status == OK, render(report)
    assert report.url == url.replace("hunter2pw", "[redacted]")
    assert "hunter2pw" not in render(report) + json.dumps(to_json([report]))
    assert check(edges + "/basic/").findings("warn")[0].text.startswith("HTTP 401")


def test_a_redirect_loop_is_unreachable_with_its_cause(edges: str) -> None:
    report = check(edges + "/loop/")
    assert report.exit_status == UNREACHABLE
    assert report.error == (
        f"{edges}/loop/: redirects in a loop (the same URL 5 times, or 10 redirects) (does the "
        "page need a cookie or a header that the redirects expect?)"
    )


@pytest.mark.parametrize(
    "url, reason",
    [
        ("/to-ftp/", "unknown url type: ftp"),  # urllib follows it; no handler fetches it
        ("/to-data/", "a redirect to 'data:,x', not an HTTP URL"),  # urllib refuses it
        ("file:///etc/passwd", "unknown url type: file"),
    ],
)
def test_only_http_is_fetched_even_after_a_redirect(edges: str, url: str, reason: str) -> None:
    with pytest.raises(FetchError) as caught:
        fetch(edges + url if url.startswith("/") else url, {})
    assert caught.value.reason == reason


def test_a_body_said_to_be_gzip_that_is_not_holds_no_tags(edges: str) -> None:
    assert fetch(edges + "/not-gzip/", {}).html == ""


@pytest.mark.parametrize(
    "url, sent",
    [
        ("http://b\u00fccher.example/caf\u00e9", "http://xn--bcher-kva.example/caf%C3%A9"),
        ("http://B\u00fccher.example:8080/", "http://xn--bcher-kva.example:8080/"),
        ("http://u:p@example.com/a b?c d#frag", "http://example.com/a%20b?c%20d"),
    ],
)
def test_a_url_is_sent_in_ascii_as_browsers_send_it(url: str, sent: str) -> None:
    assert _as_sent(url, Options())[0] == sent


@pytest.mark.parametrize("url", ["http://127.0.0.1:99999/", "http://b\u00fccher..example/"])
def test_a_url_no_browser_can_load_is_a_clear_error(url: str) -> None:
    report = check(url)
    assert report.error is not None and report.exit_status == UNREACHABLE
    assert report.error.startswith(f"{url}: not a URL a browser can load: ")


def test_the_timeout_bounds_the_whole_page_not_each_byte(edges: str) -> None:
    report = check(edges + "/trickle/", timeout=1)
    assert report.error == (
        f"{edges}/trickle/: the page took longer than 1 s (a longer --timeout, or is the "
        "server up?)"
    )


def test_gzip_is_read_up_to_the_bound_before_and_after_decompression(edges: str) -> None:
    page = fetch(edges + "/big-gzip/", {})
    assert parse_trace_meta(page.html)  # the head, from a stream cut off at the bound
    assert len(page.html) <= MAX_BODY_BYTES
    bomb = fetch(edges + "/gzip-bomb/", {})
    assert len(bomb.html) == MAX_BODY_BYTES  # the zeros, as far as the bound


def test_a_charset_that_is_no_texts_is_read_as_utf8(edges: str) -> None:
    report = check(edges + "/idna-charset/", dsn=SITE_DSN)
    assert report.exit_status == OK, render(report)


def test_a_url_is_sent_as_a_browser_sends_it(edges: str) -> None:
    page = fetch(edges + "/caf\u00e9 menu/?q=cr\u00e8me br\u00fbl\u00e9e", {})
    assert page.url == edges + "/caf%C3%A9%20menu/?q=cr%C3%A8me%20br%C3%BBl%C3%A9e"
    assert page.status == 200


@pytest.mark.parametrize(
    "asked, judged, same",
    [
        ("http://example.com/shop", "https://example.com/shop", True),
        ("https://example.com/shop", "https://www.example.com/shop/", True),
        ("https://www.example.com/shop/", "https://example.com/shop", True),
        ("https://app.example.com/", "https://login.example.com/", False),
        ("https://example.com/", "https://example.com/?error=login_required", False),
        ("https://example.com/shop/", "https://example.com/login/?next=/shop/", False),
    ],
)
def test_a_redirect_keeps_the_page_across_scheme_www_and_slash_only(
    asked: str, judged: str, same: bool
) -> None:
    page = FetchedPage(judged, 200, [], "", 0.0, (Hop(asked, 301),))
    levels = [finding.level for finding in check_redirects(asked, page)]
    assert levels == (["info"] if same else ["info", "fail"])


@pytest.mark.parametrize(
    "given_for, to, carried",
    [
        ("http://example.com/a", "http://example.com/b", True),
        ("http://example.com/a", "https://example.com/a", True),  # the upgrade
        ("http://example.com:8000/a", "https://example.com/a", False),
        ("https://example.com/a", "http://example.com/a", False),  # never down to plain HTTP
        ("https://example.com/a", "https://example.com:8443/a", False),
        ("https://example.com/a", "https://www.example.com/a", False),
    ],
)
def test_credentials_go_where_they_were_given_for_only(
    given_for: str, to: str, carried: bool
) -> None:
    assert _may_carry(given_for, to) is carried


def test_a_cookie_header_and_cookies_are_sent_together() -> None:
    given = Options(headers=(("Cookie", "a=1"),), cookies=("b=2; c=3",))
    assert given.cookie == "a=1; b=2; c=3"
