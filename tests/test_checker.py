"""`python -m metatrace check URL` against real servers: the sample site (pytest-django's
live_server), pages served through real caching layers (Django's cache middleware and
`cache_page`, a caching proxy), and stdlib-served pages with missing, malformed or
Server-Timing-only trace data."""

from __future__ import annotations

import gzip
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from http.server import BaseHTTPRequestHandler, HTTPServer, ThreadingHTTPServer
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest
from django.core.cache import cache
from django.core.handlers.wsgi import WSGIHandler

import metatrace
from metatrace.checker import (
    FAILED,
    OK,
    UNREACHABLE,
    USAGE,
    FetchError,
    Report,
    check,
    check_continued,
    fetch,
    new_probe,
    render,
)
from metatrace.formats import format_baggage, format_sentry_trace, format_traceparent
from metatrace.handover import parse_server_timing, read_meta
from tests.conftest import SAMPLE_PAGES, parse_trace_meta, run_python, split_sentry_trace

pytestmark = [pytest.mark.usefixtures("django_config")]

SITE_KEY = "5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e"
SITE_DSN = f"https://{SITE_KEY}@o7.ingest.example.invalid/2"
OTHER_KEY = "0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f"


def _texts(report: Report, level: str) -> list[str]:
    return [finding.text for finding in report.findings(level)]  # type: ignore[arg-type]


def _replay(report: Report) -> str:
    """The one failure that says a cache replayed a page."""
    (replay,) = [text for text in _texts(report, "fail") if text.startswith("replayed")]
    return replay


def _with_dsn(settings: Any, **extra: Any) -> None:
    settings.METATRACE = {**settings.METATRACE, "DSN": SITE_DSN, **extra}


# ---------------------------------------------------------------------------------------------
# The sample site, through the real middleware
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", SAMPLE_PAGES)
def test_the_sample_site_passes(live_server: Any, settings: Any, path: str) -> None:
    _with_dsn(settings)
    report = check(live_server.url + path, dsn=SITE_DSN)
    assert report.exit_status == OK, render(report)
    assert _texts(report, "fail") == [] and _texts(report, "warn") == []
    assert "continued: same trace id" in render(report)
    assert "Result: the handshake works (exit status 0)" in render(report)


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
    assert f"new span id {span_id} (the checker sent {probe.span_id})" in [f.text for f in findings]
    # Against a probe the page did not continue, the same page fails.
    assert check_continued(page, new_probe())[0].level == "fail"


def test_the_sample_site_server_timing_is_read_when_present(live_server: Any) -> None:
    with urllib.request.urlopen(live_server.url + "/", timeout=10) as response:
        header = response.headers.get_all("Server-Timing") or []
    text = render(check(live_server.url + "/"))
    if any("traceparent" in value for value in header):
        assert "ok    Server-Timing traceparent: 00-" in text
    else:
        assert "Server-Timing: absent" in text


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


@pytest.fixture
def empty_cache() -> None:
    cache.clear()


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


@contextmanager
def _running(server: HTTPServer) -> Iterator[str]:
    """The server's base URL while it serves from a thread."""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _django_server(middleware: list[str], settings: Any) -> AbstractContextManager[str]:
    """The test site under a middleware stack of our own (live_server's is fixed at start)."""
    settings.MIDDLEWARE = middleware
    return _running(
        make_server("127.0.0.1", 0, WSGIHandler(), handler_class=_QuietWSGIRequestHandler)
    )


class _QuietWSGIRequestHandler(WSGIRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


SITE_CACHE = [
    "django.middleware.cache.UpdateCacheMiddleware",
    "metatrace.middleware.TraceMiddleware",
    "django.middleware.cache.FetchFromCacheMiddleware",
]
# The cache fetched outside TraceMiddleware, and stored outside it too: a stored page goes out
# as it was stored, which TraceMiddleware saw on its way in and stripped (unless told not to).
CACHE_OUTSIDE = [
    "django.middleware.cache.UpdateCacheMiddleware",
    "django.middleware.cache.FetchFromCacheMiddleware",
    "metatrace.middleware.TraceMiddleware",
]


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


class _Handler(BaseHTTPRequestHandler):
    """A quiet stdlib handler that answers with a whole body."""

    def answer(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


class _CachingProxy(_Handler):
    """A cache that stores every first response and replays it, as a CDN told to "cache
    everything" does, whatever the page's Cache-Control says."""

    upstream = ""
    stored: dict[str, tuple[int, list[tuple[str, str]], bytes]]
    hits: list[str]

    def do_GET(self) -> None:
        if self.path in self.stored:
            self.hits.append(self.path)
            status, headers, body = self.stored[self.path]
            headers = [*headers, ("Age", "42")]
        else:
            forwarded = {k: v for k, v in self.headers.items() if k.lower() != "host"}
            request = urllib.request.Request(self.upstream + self.path, headers=forwarded)
            with urllib.request.urlopen(request, timeout=10) as response:
                status, body = response.status, response.read()
                headers = [
                    (k, v)
                    for k, v in response.headers.items()
                    if k.lower() not in ("connection", "transfer-encoding", "date", "server")
                ]
            headers.append(("Via", "1.1 test-proxy"))
            self.stored[self.path] = (status, headers, body)
        self.answer(status, headers, body)


def _caching_proxy(upstream: str) -> type[_CachingProxy]:
    """A proxy class of its own, with an empty store, in front of `upstream`."""
    return type("Proxy", (_CachingProxy,), {"upstream": upstream, "stored": {}, "hits": []})


def _serve(handler: type[BaseHTTPRequestHandler]) -> AbstractContextManager[str]:
    return _running(ThreadingHTTPServer(("127.0.0.1", 0), handler))


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
    assert failures[0].startswith(f"not continued: the page carries trace {earlier[0]}, not")
    assert failures[1:] == [
        f"replayed: both fetches got trace {earlier[0]}: a cache serves one visitor's trace "
        "to everyone"
    ]


# ---------------------------------------------------------------------------------------------
# Pages with missing, malformed or Server-Timing-only trace data, served by the stdlib
# ---------------------------------------------------------------------------------------------

HEAD = "<!doctype html><html><head><title>page</title>{}</head><body>page</body></html>"
MALFORMED = (
    '<meta name="sentry-trace" content="not-a-trace">'
    '<meta name="baggage" content="sentry-trace_id">'
    '<meta name="traceparent" content="00-ZZZ-01">'
)
OTHER_TRACE = f"{'a' * 32}-{'b' * 16}-1"
# An escape sequence (clear the screen) and an entity for a right-to-left override.
HOSTILE_META = '<meta name="sentry-trace" content="\x1b[2J&#x202e;">'
STALE_TIMING = (
    f'sentry-trace;desc="{OTHER_TRACE}", '
    f'baggage;desc="sentry-trace_id={"a" * 32},sentry-public_key={OTHER_KEY}"'
)


def _quoted(value: str) -> str:
    return f'"{value}"'


def _every_character_escaped(value: str) -> str:
    return '"' + "".join("\\" + character for character in value) + '"'


def _timing(trace: metatrace.TraceContext, quote: Callable[[str], str]) -> str:
    # Another metric first, whose quoted desc holds a comma, a quote and a backslash.
    return (
        'total;dur=1.5;desc="a, \\"quoted\\" \\\\ text", '
        f"sentry-trace;desc={quote(trace.sentry_trace)};dur=0, "
        f"baggage;desc={quote(trace.baggage)}, "
        f"traceparent;desc={quote(trace.traceparent)}"
    )


class _Pages(_Handler):
    """Pages that continue the incoming trace with metatrace's public API, each handing it
    over in its own (right or wrong) way."""

    def do_GET(self) -> None:
        trace = metatrace.continue_trace(dict(self.headers.items()))
        headers = [("Content-Type", "text/html; charset=utf-8")]
        html = HEAD.format("")
        if self.path == "/malformed/":
            html = HEAD.format(MALFORMED)
        elif self.path == "/server-timing/":
            headers.append(("Server-Timing", _timing(trace, _quoted)))
        elif self.path == "/server-timing-escaped/":
            headers.append(("Server-Timing", _timing(trace, _every_character_escaped)))
        elif self.path == "/stale-server-timing/":
            html = HEAD.format(str(trace.meta()))
            headers.append(("Server-Timing", STALE_TIMING))
        elif self.path == "/hostile/":
            html = HEAD.format(HOSTILE_META)
            headers.append(("Via", "1.1 \x1b]0;owned\x07proxy"))
        elif self.path == "/twice/":
            stale = f'<meta name="sentry-trace" content="{OTHER_TRACE}">'
            html = HEAD.format(stale + str(trace.meta()))
        body = html.encode()
        self.answer(200, [*headers, ("Content-Length", str(len(body)))], body)


@pytest.fixture
def pages() -> Iterator[str]:
    metatrace.configure(dsn=SITE_DSN, w3c=True)
    with _serve(_Pages) as url:
        yield url


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


@pytest.mark.parametrize("path", ["/server-timing/", "/server-timing-escaped/"])
def test_server_timing_alone_hands_the_trace_over(pages: str, path: str) -> None:
    report = check(pages + path, dsn=SITE_DSN)
    assert report.exit_status == OK, render(report)
    text = render(report)
    assert "continued: same trace id" in text
    assert "ok    Server-Timing sentry-trace: " in text
    assert "ok    Server-Timing baggage: sentry-trace_id=" in text
    assert "public key 5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e matches --dsn" in text
    assert "no trace meta tags" in text


def test_server_timing_of_another_trace_than_the_tags_fails(pages: str) -> None:
    report = check(pages + "/stale-server-timing/")
    failures = _texts(report, "fail")
    assert len(failures) == 2  # once per fetch
    assert failures[0].startswith("the meta tags and Server-Timing carry different traces")
    assert OTHER_TRACE.rsplit("-", 1)[0] in failures[0]


def test_what_a_page_sends_cannot_drive_the_terminal(pages: str) -> None:
    text = render(check(pages + "/hostile/"))
    assert all(line.isprintable() for line in text.splitlines())
    assert "meta sentry-trace: invalid: '\\x1b[2J\\u202e'" in text
    assert "Via: 1.1 \\x1b]0;owned\\x07proxy (through a proxy)" in text


def test_a_second_sentry_trace_tag_fails(pages: str) -> None:
    report = check(pages + "/twice/")
    assert "meta sentry-trace: 2 of them; the browser reads the first" in _texts(report, "fail")
    # ...and the browser reads the stale one: the checker's trace was not continued.
    assert any(text.startswith("not continued") for text in _texts(report, "fail"))


# ---------------------------------------------------------------------------------------------
# The readers, on their own
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "values, metrics, malformed",
    [
        ([], [], 0),
        (["total;dur=12"], [("total", {"dur": "12"})], 0),
        (['a;desc="x, y"', "b"], [("a", {"desc": "x, y"}), ("b", {})], 0),
        (['a;desc="say \\"hi\\" \\\\o/"'], [("a", {"desc": 'say "hi" \\o/'})], 0),
        (['a;desc="\\a\\b\\c"'], [("a", {"desc": "abc"})], 0),
        (["a ; DESC = tok ; desc=second"], [("a", {"desc": "tok"})], 0),
        (['a;desc="unterminated, b;dur=1'], [], 1),
        (["(bad);dur=1, good"], [("good", {})], 1),
        (['a;desc="x"y, b'], [("b", {})], 1),
        (["  ,, a ,"], [("a", {})], 0),
    ],
)
def test_server_timing_parsing(
    values: list[str], metrics: list[tuple[str, dict[str, str]]], malformed: int
) -> None:
    parsed, skipped = parse_server_timing(values)
    assert [(metric.name, metric.params) for metric in parsed] == metrics
    assert skipped == malformed


def test_meta_reading_decodes_entities_like_a_browser() -> None:
    html = (
        '<head><META NAME="baggage" content="sentry-a=1&amp;2,sentry-b=&quot;">'
        '<meta name="sentry-trace" content="first" content="second">'
        '<meta name="Sentry-Trace" content="not read: names are case-sensitive"></head>'
    )
    assert read_meta(html) == {"baggage": ['sentry-a=1&2,sentry-b="'], "sentry-trace": ["first"]}


# ---------------------------------------------------------------------------------------------
# The command line, run for real
# ---------------------------------------------------------------------------------------------


def _cli(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "metatrace", "check", *arguments],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_command_line_passes_the_sample_site(live_server: Any, settings: Any) -> None:
    _with_dsn(settings)
    result = _cli(live_server.url + "/", "--dsn", SITE_DSN)
    assert result.returncode == OK, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"Checking {live_server.url}/"
    assert "  ok    sampled flag kept (1)" in lines
    assert f"  ok    public key {SITE_KEY} matches --dsn" in lines
    assert lines[-1] == "Result: the handshake works (exit status 0)"


@pytest.mark.urls("tests.urls")
@pytest.mark.usefixtures("empty_cache")
def test_the_command_line_catches_a_cached_page(settings: Any) -> None:
    settings.METATRACE = {**settings.METATRACE, "STRIP_CACHEABLE": False}
    with _django_server(CACHE_OUTSIDE, settings) as url:
        result = _cli(url + "/t/cache-page/")
    assert result.returncode == FAILED, result.stdout + result.stderr
    assert "  FAIL  replayed: fetch 2 sent no trace" in result.stdout
    assert re.fullmatch(
        r"Result: \d+ checks? failed \(exit status 1\)", result.stdout.splitlines()[-1]
    )


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])  # nothing listens once the socket closes


def test_an_unreachable_url_is_a_clear_error() -> None:
    url = f"http://127.0.0.1:{_closed_port()}/"
    result = _cli(url, "--timeout", "5")
    assert result.returncode == UNREACHABLE
    assert result.stdout == ""
    assert result.stderr == f"metatrace check: cannot fetch {url}: Connection refused\n"


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["ftp://127.0.0.1/"], "URL 'ftp://127.0.0.1/' must start with http:// or https://"),
        (["http://[::1"], "URL 'http://[::1' is not a URL: Invalid IPv6 URL"),
        (["http:///page/"], "URL 'http:///page/' names no host"),
        (["http://127.0.0.1/", "--dsn", "nope"], "--dsn 'nope' is not a Sentry DSN"),
        (["http://127.0.0.1/", "--timeout", "0"], "--timeout must be a positive number"),
        (["http://127.0.0.1/", "--timeout", "inf"], "--timeout must be a positive number"),
        (
            ["http://127.0.0.1/", "--sentry-browser-version", "eleven"],
            "--sentry-browser-version 'eleven' is not a version of @sentry/browser",
        ),
    ],
)
def test_a_bad_command_line_says_what_is_wrong(arguments: list[str], message: str) -> None:
    result = _cli(*arguments)
    assert result.returncode == USAGE
    assert f"python -m metatrace check: error: {message}" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_checker_imports_neither_django_nor_jinja() -> None:
    result = run_python(
        "import sys, metatrace.checker, metatrace.__main__; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('django', 'jinja2')))"
    )
    assert result.stdout.strip() == "[]", result.stderr


# ---------------------------------------------------------------------------------------------
# Pages that get each handshake detail wrong, or answer in an odd way
# ---------------------------------------------------------------------------------------------

NO_ORG_DSN = f"https://{SITE_KEY}@sentry.example.invalid/2"


class _Odd(_Handler):
    """Pages that continue (or echo) the incoming trace with one detail wrong each, and pages
    that answer in ways a browser copes with: an error status, a redirect, an unknown charset,
    a broken gzip body, and no answer at all."""

    def do_GET(self) -> None:
        incoming = dict(self.headers.items())
        trace = metatrace.continue_trace(incoming)
        status, headers, tags = 200, [("Content-Type", "text/html; charset=utf-8")], ""
        sentry_trace = f'<meta name="sentry-trace" content="{trace.sentry_trace}">'
        baggage = f'<meta name="baggage" content="{trace.baggage}">'
        if self.path == "/hang-up/":
            return  # the connection closes with no answer
        if self.path == "/missing/":
            status, tags = 404, str(trace.meta())
        elif self.path == "/redirect/":
            self.send_response(302)
            self.send_header("Location", "/landed/")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        elif self.path == "/no-baggage/":
            tags = sentry_trace
        elif self.path == "/other-span/":
            other = format_traceparent(trace.trace_id, "c" * 16, True)
            tags = f'{sentry_trace}{baggage}<meta name="traceparent" content="{other}">'
        elif self.path == "/thin-dsc/":
            tags = f'{sentry_trace}<meta name="baggage" content="sentry-release=1">'
        elif self.path == "/echo/":  # the checker's own span id handed back
            tags = f'<meta name="sentry-trace" content="{self.headers.get("sentry-trace", "")}">'
        elif self.path == "/deferred/":
            deferred = format_sentry_trace(trace.trace_id, trace.span_id, None)
            tags = f'<meta name="sentry-trace" content="{deferred}">{baggage}'
        elif self.path == "/own-dsc/":  # a continued trace with a DSC of the server's own
            dsc = format_baggage({"trace_id": trace.trace_id, "public_key": OTHER_KEY})
            tags = f'{sentry_trace}<meta name="baggage" content="{dsc}">'
        elif self.path == "/no-org/":
            tags = str(trace.meta())
        elif self.path == "/private/":
            tags = str(trace.meta())
            headers += [("Cache-Control", "private, max-age=60"), ("Age", "soon")]
        elif self.path == "/no-store/":
            tags = str(trace.meta())
            headers += [("Cache-Control", "no-store"), ("Server-Timing", "(bad), total;dur=1")]
        elif self.path == "/unknown-charset/":
            tags = str(trace.meta())
            headers = [("Content-Type", "text/html; charset=x-no-such-charset")]
        elif self.path == "/broken-gzip/":
            headers.append(("Content-Encoding", "gzip"))
        elif self.path in ("/style.css", "/data.json"):
            kind = "text/css" if self.path.endswith(".css") else "application/json"
            body = b"{}" if kind == "application/json" else b"p { margin: 0 }"
            headers = [("Content-Type", kind), ("Cache-Control", "public, max-age=600")]
            self.answer(status, [*headers, ("Content-Length", str(len(body)))], body)
            return
        elif self.path.startswith("/datadog"):  # Datadog RUM's tags, right and wrong
            dd_id, dd_time = str(int(trace.trace_id[16:], 16)), str(time.time_ns() // 10**6)
            if self.path == "/datadog-stale/":  # rendered 5 minutes ago, as a cache replays it
                dd_time = str(int(dd_time) - 300_000)
            elif self.path == "/datadog-other/":
                dd_id = str(int(dd_id) ^ 1)
            elif self.path == "/datadog-odd/":  # digits to str.isdigit(), not to int()
                dd_time = "\u00b2"
            elif self.path == "/datadog-huge/":
                dd_time = "9" * 17
            elif self.path == "/datadog-huge-id/":  # past int()'s 4300 digits
                dd_id = "9" * 5000
            tags = str(trace.meta()) + (
                f'<meta name="dd-trace-id" content="{dd_id}">'
                f'<meta name="dd-trace-time" content="{dd_time}">'
            )
        elif self.path.startswith("/trace-metric"):  # W3C Trace Context Level 3's metric
            metric = {
                "/trace-metric/": trace.traceparent,
                "/trace-metric-other/": format_traceparent("1" * 32, trace.span_id, True),
                "/trace-metric-bad/": "00-zz",
            }[self.path]
            tags = str(trace.meta()) + '<meta name="tracestate" content="congo=t61rcWkgMzE">'
            headers.append(("Server-Timing", f'total;dur=2, trace;desc="{metric}"'))
        elif self.path.startswith("/elastic"):  # Elastic RUM's page-load values
            ids = f'"pageLoadSpanId":"{"5" * 16}","pageLoadSampled":true'
            text = {
                "/elastic-other/": f'{{"pageLoadTraceId":"{"1" * 32}",{ids}}}',
                "/elastic-junk/": f'{{"pageLoadTraceId":"<x>",{ids}}}',
                "/elastic-not-json/": "{pageLoadTraceId:",
                "/elastic-array/": "[]",
                "/elastic-sampled/": f'{{"pageLoadTraceId":"{trace.trace_id}",{ids[:-4]}1}}',
            }.get(self.path, f'{{"pageLoadTraceId":"{trace.trace_id}",{ids}}}')
            script = f'<script type="application/json" id="elastic-apm-page-load">{text}</script>'
            tags = str(trace.meta()) + script
            if self.path == "/elastic-twice/":
                tags += script
            elif self.path == "/elastic-alone/":  # no trace in the tags to compare with
                tags = script
            elif self.path == "/elastic-cacheable/":  # stripped of the tags but not the script
                tags = script
                headers.append(("Cache-Control", "max-age=60"))
        elif self.path == "/cacheable-stripped/":  # what STRIP_CACHEABLE leaves of a page
            headers.append(("Cache-Control", "max-age=60"))
        elif self.path == "/cacheable-with-tags/":  # the leak: a visitor's trace, stored
            tags = str(trace.meta())
            headers.append(("Cache-Control", "max-age=60"))
        elif self.path == "/cacheable-timing/":  # the trace in Server-Timing only, stored
            headers += [("Cache-Control", "public"), ("Server-Timing", trace.page().server_timing)]
        body = HEAD.format(tags).encode()
        if self.path == "/broken-gzip/":
            body = gzip.compress(body)[:20]  # cut off: not a whole gzip stream
        self.answer(status, [*headers, ("Content-Length", str(len(body)))], body)


@pytest.fixture
def odd() -> Iterator[str]:
    metatrace.configure(dsn=SITE_DSN, w3c=True)
    with _serve(_Odd) as url:
        yield url


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


def test_an_error_status_is_a_page_too(odd: str) -> None:
    report = check(odd + "/missing/", dsn=SITE_DSN)
    assert _texts(report, "warn")[0].startswith("HTTP 404, text/html; charset=utf-8, ")
    assert "continued: same trace id " in " ".join(_texts(report, "ok"))


def test_a_redirect_is_followed_and_named(odd: str) -> None:
    report = check(odd + "/redirect/")
    (status, *_) = report.sections[0].findings
    assert status.text.endswith(f", redirected to {odd}/landed/")


def test_a_server_that_hangs_up_is_a_clear_error(odd: str) -> None:
    with pytest.raises(FetchError, match=r"^Remote end closed connection without response$"):
        check(odd + "/hang-up/")


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
    assert "sampled flag not kept: the checker sent 1, the page has deferred" in _texts(
        report, "fail"
    )
    assert "sampled flag kept (1)" not in _texts(report, "ok")


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


def test_an_unknown_charset_is_read_as_utf8(odd: str) -> None:
    report = check(odd + "/unknown-charset/", dsn=SITE_DSN)
    assert report.exit_status == OK, render(report)


def test_a_broken_gzip_body_holds_no_tags(odd: str) -> None:
    report = check(odd + "/broken-gzip/")
    assert "no trace meta tags" in _texts(report, "info")
    assert _texts(report, "fail") == ["not continued: the page hands the browser no trace at all"]


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
