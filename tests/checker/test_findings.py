"""metatrace/checker/findings.py: each check of `python -m metatrace check URL`.

Against real servers: the sample site (pytest-django's live_server), pages served through real
caching layers (Django's cache middleware and `cache_page`, a caching proxy), and stdlib-served
pages with missing, malformed or Server-Timing-only trace data."""

from __future__ import annotations

import re
import urllib.request
from typing import Any

import pytest

import metatrace
from metatrace.checker import FAILED, OK, Report, check, fetch, render
from metatrace.checker.findings import check_continued, new_probe
from tests.checker.servers import (
    CACHE_OUTSIDE,
    OTHER_KEY,
    OTHER_TRACE,
    SITE_CACHE,
    SITE_DSN,
    SITE_KEY,
    _caching_proxy,
    _django_server,
    _serve,
    _texts,
    _with_dsn,
)
from tests.conftest import parse_trace_meta, split_sentry_trace

EVERY_CHANNEL = "every channel"

pytestmark = [pytest.mark.usefixtures("django_config")]


# ---------------------------------------------------------------------------------------------
# The sample site, through the real middleware
# ---------------------------------------------------------------------------------------------


def test_continuation_is_judged_on_what_the_page_really_carries(
    live_server: Any, settings: Any
) -> None:
    _with_dsn(settings)
    probe = new_probe()
    page = fetch(live_server.url + "/", probe.headers, timeout=10)
    # The page as BeautifulSoup reads it: our trace, a span of the server's own, sampled.
    trace_id, span_id, flag = split_sentry_trace(parse_trace_meta(page.html)["sentry-trace"])
    assert (trace_id, flag) == (probe.trace_id, "1") and span_id != probe.span_id
    findings = check_continued(page, probe)
    assert [f.level for f in findings] == ["ok"] * 4
    channels = "every channel"  # all four: the meta tags and Server-Timing, each of both names
    assert f"new span id {span_id} (the checker sent {probe.span_id}; {channels})" in [
        f.text for f in findings
    ]
    # Against a probe the page did not continue, the same page fails.
    assert check_continued(page, new_probe())[0].level == "fail"


def test_a_site_without_dsn_hands_the_browser_only_traceparent(
    live_server: Any, settings: Any
) -> None:
    settings.METATRACE = {**settings.METATRACE, "DSN": None}  # as `SENTRY_DSN= make run`
    report = check(live_server.url + "/")
    assert report.exit_status == OK
    assert any("traceparent only" in text for text in _texts(report, "warn"))
    # With --dsn the user expects the site's key on the page: there is none.
    report = check(live_server.url + "/", dsn=SITE_DSN)
    assert report.exit_status == FAILED
    assert _texts(report, "fail") == [
        "fetch 2 started a trace with no baggage, so no public key: is the server's DSN set?"
    ]


def test_a_dsn_of_another_project_fails(live_server: Any, settings: Any) -> None:
    _with_dsn(settings)
    report = check(live_server.url + "/", dsn=f"https://{OTHER_KEY}@o7.ingest.example.invalid/9")
    assert report.exit_status == FAILED
    assert _texts(report, "fail") == [
        f"public key {SITE_KEY!r} in the baggage, {OTHER_KEY!r} in --dsn"
    ]


def test_a_dsn_of_another_org_fails_and_says_why_the_trace_was_not_continued(
    live_server: Any, settings: Any
) -> None:
    _with_dsn(settings)
    report = check(live_server.url + "/", dsn=f"https://{SITE_KEY}@o8.ingest.example.invalid/2")
    failures = _texts(report, "fail")
    # The checker sent org 8 (from --dsn): a server of org 7 starts a trace of its own.
    assert failures[0].startswith("not continued:")
    assert failures[0].endswith("or the server's org is not 8, the org of --dsn")
    assert failures[1:] == ["org 7 in the baggage, 8 in --dsn"]


# ---------------------------------------------------------------------------------------------
# Real caching layers that replay a stored page
# ---------------------------------------------------------------------------------------------


def _replay(report: Report) -> str:
    """The one failure that says a cache replayed a page."""
    (replay,) = [text for text in _texts(report, "fail") if text.startswith("replayed")]
    return replay


@pytest.mark.urls("tests.urls")
@pytest.mark.usefixtures("empty_cache")
def test_cache_page_inside_the_middleware_with_stripping_off_fails(
    live_server: Any, settings: Any
) -> None:
    settings.METATRACE = {**settings.METATRACE, "STRIP_CACHEABLE": False}
    report = check(live_server.url + "/t/cache-page/")
    # `cache_page` replays the stored body inside TraceMiddleware, which replaces the stale
    # tags with this request's: no replay reaches the visitor...
    assert "each fetch got a trace of its own: no cache replays the trace" in render(report)
    # ...but a shared cache in front would store each page with its visitor's trace.
    assert report.exit_status == FAILED, render(report)
    text = render(report)
    assert "Cache-Control: max-age=60 (shared caches, a CDN or a proxy, may store this page)" in (
        text
    )
    assert _texts(report, "fail") == [
        "fetches 1 and 2 may each be stored by a shared cache with a visitor's trace (in its "
        "meta tags or Server-Timing): the cache would hand that trace to the next visitors"
    ]


@pytest.mark.urls("tests.urls")
@pytest.mark.usefixtures("empty_cache")
def test_cache_page_with_the_tags_stripped_is_safe(live_server: Any) -> None:
    report = check(live_server.url + "/t/cache-page/")
    assert report.exit_status == OK, render(report)
    assert "no trace on a page that shared caches may store" in render(report)


@pytest.mark.urls("tests.urls")
@pytest.mark.usefixtures("empty_cache")
def test_the_cache_middleware_replaying_a_page_is_caught(settings: Any) -> None:
    settings.METATRACE = {**settings.METATRACE, "STRIP_CACHEABLE": False}
    with _django_server(CACHE_OUTSIDE, settings) as url:
        report = check(url + "/t/tag/")
    assert report.exit_status == FAILED
    assert _replay(report).startswith("replayed: fetch 2 sent no trace")


@pytest.mark.urls("tests.urls")
@pytest.mark.usefixtures("empty_cache")
def test_the_cache_middleware_in_djangos_order_hands_out_no_trace(settings: Any) -> None:
    with _django_server(SITE_CACHE, settings) as url:
        report = check(url + "/t/tag/")
    # The cache middleware adds Cache-Control after TraceMiddleware saw the page, so
    # TraceMiddleware rehearses it: the first visitor's page leaves without its trace too.
    assert report.exit_status == OK, render(report)
    assert _texts(report, "warn") == [
        "no trace on a page that shared caches may store: safe, the browser starts its own",
        "no trace on a page that shared caches may store: safe, the browser starts its own",
    ]


def test_a_caching_proxy_replaying_the_sample_site_is_caught(
    live_server: Any, settings: Any
) -> None:
    _with_dsn(settings)
    proxy = _caching_proxy(live_server.url)
    with _serve(proxy) as url:
        report = check(url + "/", dsn=SITE_DSN)
    assert proxy.hits == ["/"]  # the second fetch came from the store
    assert report.exit_status == FAILED
    assert [text.split(":")[0] for text in _texts(report, "fail")] == ["replayed"]
    text = render(report)
    assert "Age (fetch 1): absent (no cache said it served a stored copy)" in text
    assert "Age (fetch 2): 42 (served from a cache, stored 42 s before)" in text
    assert "Via: 1.1 test-proxy (through a proxy)" in text
    # fetch 2 got the checker's DSC back: the DSN cannot be judged from it.
    assert "not checked: fetch 2 got the checker's own DSC back (replayed)" in text


def test_a_warm_caching_proxy_is_caught_too(live_server: Any, settings: Any) -> None:
    _with_dsn(settings)
    proxy = _caching_proxy(live_server.url)
    with _serve(proxy) as url:
        with urllib.request.urlopen(url + "/", timeout=10) as response:  # an earlier visitor
            earlier = split_sentry_trace(parse_trace_meta(response.read().decode())["sentry-trace"])
        report = check(url + "/", dsn=SITE_DSN)
    assert proxy.hits == ["/", "/"]  # both fetches came from the store
    failures = _texts(report, "fail")
    assert failures[0].startswith(f"not continued: {EVERY_CHANNEL} carries trace {earlier[0]}, not")
    assert failures[1:] == [
        f"replayed: both fetches got trace {earlier[0]} ({EVERY_CHANNEL}): a cache, or a tag "
        "written once, serves one visitor's trace to everyone"
    ]


# ---------------------------------------------------------------------------------------------
# Pages with missing, malformed or Server-Timing-only trace data, served by the stdlib
# ---------------------------------------------------------------------------------------------


def test_a_page_without_tags_fails(pages: str) -> None:
    report = check(pages + "/no-tags/")
    assert report.exit_status == FAILED
    assert _texts(report, "fail") == ["not continued: the page hands the browser no trace at all"]
    assert "no trace meta tags" in _texts(report, "info")
    assert "Server-Timing: absent" in _texts(report, "info")


def test_malformed_tags_fail_each(pages: str) -> None:
    report = check(pages + "/malformed/")
    assert report.exit_status == FAILED
    assert _texts(report, "fail")[:3] == [
        "meta sentry-trace: invalid: 'not-a-trace'",
        "meta baggage: no sentry- items in 'sentry-trace_id'",
        "meta traceparent: invalid: '00-ZZZ-01'",
    ]


def test_server_timing_of_another_trace_than_the_tags_fails(pages: str) -> None:
    # Each line judges the channel it names: the meta tags continued and started traces of
    # their own; Server-Timing's stale sentry-trace fails on lines of its own.
    report = check(pages + "/stale-server-timing/")
    stale = OTHER_TRACE.split("-")[0]
    failures = _texts(report, "fail")
    assert [text.split(":")[0] for text in failures] == [
        "the meta tags and Server-Timing carry different traces",
        "not continued",
        "the meta tags and Server-Timing carry different traces",
        "replayed",
    ]
    assert failures[1].startswith(
        f"not continued: Server-Timing sentry-trace carries trace {stale}"
    )
    assert failures[3].startswith(
        f"replayed: both fetches got trace {stale} (Server-Timing sentry-trace)"
    )
    assert any(
        text.startswith("continued: same trace id ")
        and text.endswith("(meta sentry-trace, meta traceparent)")
        for text in _texts(report, "ok")
    )
    started = [text for text in _texts(report, "ok") if text.startswith("started trace ")]
    assert len(started) == 1 and started[0].endswith("(meta sentry-trace, meta traceparent)")


def test_a_second_sentry_trace_tag_fails(pages: str) -> None:
    report = check(pages + "/twice/")
    assert "meta sentry-trace: 2 of them; the browser reads the first" in _texts(report, "fail")
    # ...and the browser reads the stale one: the checker's trace was not continued.
    assert any(text.startswith("not continued") for text in _texts(report, "fail"))


# ---------------------------------------------------------------------------------------------
# Pages that get each handshake detail wrong, or answer in an odd way
# ---------------------------------------------------------------------------------------------

NO_ORG_DSN = f"https://{SITE_KEY}@sentry.example.invalid/2"


@pytest.mark.parametrize(
    "path, kind", [("/style.css", "text/css"), ("/data.json", "application/json")]
)
def test_a_url_that_is_not_an_html_page_is_named_so(odd: str, path: str, kind: str) -> None:
    report = check(odd + path, dsn=SITE_DSN)
    assert _texts(report, "fail") == [
        f"not an HTML page ({kind}): browser SDKs read the trace from the HTML page they "
        "load; check the URL of a page"
    ]
    assert "no trace at all" not in render(report)
    assert report.exit_status == FAILED


def test_a_page_stripped_because_shared_caches_may_store_it_passes_with_a_dsn(odd: str) -> None:
    report = check(odd + "/cacheable-stripped/", dsn=SITE_DSN)
    assert report.exit_status == OK, render(report)
    assert "not checked: fetch 2 carries no trace (shared caches may store it)" in _texts(
        report, "info"
    )


@pytest.mark.parametrize("path", ["/cacheable-with-tags/", "/cacheable-timing/"])
def test_a_page_that_shared_caches_may_store_with_a_trace_fails(odd: str, path: str) -> None:
    report = check(odd + path)
    assert (
        "fetches 1 and 2 may each be stored by a shared cache with a visitor's trace (in its "
        "meta tags or Server-Timing): the cache would hand that trace to the next visitors"
    ) in _texts(report, "fail")


def test_a_sentry_trace_without_baggage_fails(odd: str) -> None:
    report = check(odd + "/no-baggage/")
    assert (
        "meta baggage: absent, next to a sentry-trace: @sentry/browser 11.12 and earlier "
        "continue the trace with an empty dynamic sampling context, and send no public key "
        "(11.17 and later fill in their own: if the pages load one, say so with "
        "--sentry-browser-version)"
    ) in _texts(report, "fail")


@pytest.mark.parametrize("version", ["11.17.0", "12.1"])
def test_a_sentry_trace_without_baggage_passes_for_a_browser_that_fills_in_its_own(
    odd: str, version: str
) -> None:
    report = check(odd + "/no-baggage/", sentry_browser_version=version)
    assert not any("baggage" in text for text in _texts(report, "fail"))
    assert (
        "meta baggage: absent, next to a sentry-trace: @sentry/browser 11.17 and later "
        "continue the trace with a dynamic sampling context of their own"
    ) in _texts(report, "ok")


def test_traceparent_with_another_span_id_warns(odd: str) -> None:
    report = check(odd + "/other-span/")
    assert "meta: traceparent and sentry-trace carry different span ids" in _texts(report, "warn")
    assert not any("different traces" in text for text in _texts(report, "fail"))


def test_a_dsc_without_trace_id_and_public_key_fails(odd: str) -> None:
    report = check(odd + "/thin-dsc/")
    assert "meta baggage: the DSC lacks trace_id and public_key: 'sentry-release=1'" in _texts(
        report, "fail"
    )


def test_the_checkers_own_span_id_handed_back_fails(odd: str) -> None:
    report = check(odd + "/echo/")
    (echoed,) = [text for text in _texts(report, "fail") if text.startswith("span id")]
    assert echoed.endswith(
        "is the checker's own: the server must give its request a span of "
        "its own, the browser's parent"
    )


def test_a_deferred_decision_instead_of_the_checkers_fails(odd: str) -> None:
    report = check(odd + "/deferred/")
    assert _texts(report, "fail") == [
        "sampled flag not kept: the checker sent 1, meta sentry-trace has deferred"
    ]
    assert not any(text.startswith("sampled flag kept") for text in _texts(report, "ok"))


def test_a_continued_trace_with_a_dsc_of_its_own_fails(odd: str) -> None:
    report = check(odd + "/own-dsc/")
    assert (
        "the baggage is not the checker's DSC: a continued trace keeps the DSC of its head "
        f"(public_key '{OTHER_KEY}')"
    ) in _texts(report, "fail")


def test_a_dsn_without_an_org_is_compared_by_key_only(odd: str) -> None:
    report = check(odd + "/no-org/", dsn=NO_ORG_DSN)
    dsn = [finding.text for finding in report.sections[3].findings]
    assert dsn == [
        f"public key {SITE_KEY} matches --dsn",
        "org not compared: the DSN's host names no org (oNNN.)",
    ]


def test_a_dsc_without_org_id_warns_when_the_dsn_names_one(odd: str) -> None:
    metatrace.configure(public_key=SITE_KEY, w3c=True)  # a key but no org: no org_id
    report = check(odd + "/no-org/", dsn=SITE_DSN)
    assert "the baggage carries no org_id; --dsn says 7" in _texts(report, "warn")


def test_private_and_no_store_pages_are_explained(odd: str) -> None:
    text = render(check(odd + "/private/"))
    assert (
        "Cache-Control: private, max-age=60 (only the visitor's browser may store this page)"
        in text
    )
    assert "Age: soon (not a number of seconds: caches must ignore it)" in text
    report = check(odd + "/no-store/")
    assert "Cache-Control: no-store (no cache may store this page)" in _texts(report, "info")
    assert _texts(report, "warn").count("Server-Timing: 1 malformed entries") == 2


def test_datadog_tags_of_the_pages_trace_rendered_just_now_pass(odd: str) -> None:
    report = check(odd + "/datadog/", dsn=SITE_DSN)
    assert report.exit_status == OK, render(report)
    assert any(text.startswith("meta dd-trace-id: ") for text in _texts(report, "ok"))
    assert any(
        re.fullmatch(r"dd-trace-time is \d+\.\d s old \(Datadog RUM takes it\)", text)
        for text in _texts(report, "ok")
    )


def test_a_dd_trace_time_older_than_two_minutes_fails(odd: str) -> None:
    fails = _texts(check(odd + "/datadog-stale/"), "fail")
    assert len(fails) == 2  # each fetch
    assert re.fullmatch(
        r"dd-trace-time is 30\d s old: Datadog RUM ignores the trace after 120 s "
        r"\(a cache served a stored page\?\)",
        fails[0],
    )


def test_a_dd_trace_id_of_another_trace_fails(odd: str) -> None:
    fails = _texts(check(odd + "/datadog-other/"), "fail")
    assert fails[0].startswith("meta dd-trace-id ")
    assert fails[0].endswith("(its low 64 bits in decimal)")


@pytest.mark.parametrize("path", ["/datadog-odd/", "/datadog-huge/", "/datadog-huge-id/"])
def test_a_datadog_tag_that_is_no_number_fails_without_a_crash(odd: str, path: str) -> None:
    fails = _texts(check(odd + path), "fail")
    assert fails[0].startswith("meta dd-trace-id and dd-trace-time: need both, in digits: ")


def test_the_w3c_trace_metric_and_tracestate_are_read(odd: str) -> None:
    report = check(odd + "/trace-metric/")
    assert report.exit_status == OK, render(report)
    assert "meta tracestate: congo=t61rcWkgMzE" in _texts(report, "ok")
    assert any(text.startswith("Server-Timing trace: 00-") for text in _texts(report, "ok"))
    other = _texts(check(odd + "/trace-metric-other/"), "fail")
    assert any(
        re.fullmatch(
            r"Server-Timing trace: 1{32}-\w{16} is not the trace the page hands the "
            r"browser \(\w{32}-\w{16}\)",
            text,
        )
        for text in other
    )
    assert "Server-Timing trace: invalid: '00-zz'" in _texts(
        check(odd + "/trace-metric-bad/"), "fail"
    )


@pytest.mark.parametrize("path", ["/elastic/", "/elastic-alone/"])
def test_elastic_page_load_values_of_the_pages_trace_pass(odd: str, path: str) -> None:
    report = check(odd + path, dsn=SITE_DSN)
    if path == "/elastic/":
        assert report.exit_status == OK, render(report)
    assert any(
        re.fullmatch(r"Elastic page-load: trace \w{32}, span 5{16}, sampled True", text)
        for text in _texts(report, "ok")
    )


@pytest.mark.parametrize(
    "path, failure",
    [
        (
            "/elastic-other/",
            r"Elastic page-load trace 1{32} is not the trace the page hands the "
            r"browser \(\w{32}\)",
        ),
        ("/elastic-twice/", r"2 Elastic page-load scripts: render one"),
        ("/elastic-junk/", r"Elastic page-load values: invalid: .*"),
        ("/elastic-sampled/", r"Elastic page-load values: invalid: .*"),
        ("/elastic-not-json/", r"Elastic page-load script: not a JSON object: '\{pageLoad.*"),
        ("/elastic-array/", r"Elastic page-load script: not a JSON object: '\[\]'"),
        (
            "/elastic-cacheable/",
            r"fetch(es)? .* be stored by a shared cache with a visitor's "
            r"trace \(in its meta tags, Server-Timing or Elastic's page-load script\).*",
        ),
    ],
)
def test_elastic_page_load_values_that_are_wrong_fail(odd: str, path: str, failure: str) -> None:
    fails = _texts(check(odd + path, dsn=SITE_DSN), "fail")
    assert any(re.fullmatch(failure, text) for text in fails), fails
