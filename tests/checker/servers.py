"""The servers whose pages the checker's tests fetch, and the helpers that read its reports.

The test site under a middleware stack of their own, a caching proxy, and stdlib-served pages
that hand the trace over rightly or wrongly."""

from __future__ import annotations

import base64
import gzip
import html
import os
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from http.server import BaseHTTPRequestHandler, HTTPServer, ThreadingHTTPServer
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

from django.core.handlers.wsgi import WSGIHandler

import metatrace
from metatrace._core.formats import format_baggage, format_sentry_trace, format_traceparent
from metatrace.checker import Report

SITE_KEY = "5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e"
SITE_DSN = f"https://{SITE_KEY}@o7.ingest.example.invalid/2"
OTHER_KEY = "0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f"


def _texts(report: Report, level: str) -> list[str]:
    return [finding.text for finding in report.findings(level)]  # type: ignore[arg-type]


def _with_dsn(settings: Any, **extra: Any) -> None:
    settings.METATRACE = {**settings.METATRACE, "DSN": SITE_DSN, **extra}


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
        elif self.path == "/slash":  # the same page, at its canonical URL
            self.send_response(301)
            self.send_header("Location", "/slash/")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        elif self.path == "/slash/":
            tags = str(trace.meta())
        elif self.path == "/slow/":
            time.sleep(3)  # past the test's timeout
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


BASIC = "Basic " + base64.b64encode(b"admin:hunter2pw").decode()  # admin:hunter2pw@ in a URL


class _Edges(_Handler):
    """Pages at the edges of fetching: one that echoes the credentials into its tags, one
    behind HTTP basic authentication, redirects urllib must not follow, a body that trickles
    in, gzip bodies past the checker's bound, and a charset that is no text's."""

    bomb = gzip.compress(b"\0" * 50 * 1024 * 1024)  # 50 MB of zeros in 50 KB

    def do_GET(self) -> None:
        trace = metatrace.continue_trace(dict(self.headers.items()))
        headers = [("Content-Type", "text/html; charset=utf-8")]
        body = HEAD.format(str(trace.meta())).encode()
        redirects = {"/loop/": "/loop/", "/to-ftp/": "ftp://127.0.0.1/f", "/to-data/": "data:,x"}
        if self.path in redirects:
            self.answer(302, [("Location", redirects[self.path]), ("Content-Length", "0")], b"")
            return
        if self.path == "/echo-credentials/":  # a debug page: what it was sent, in its tags
            token = html.escape(self.headers.get("Authorization", ""))
            cookie = html.escape(self.headers.get("Cookie", ""))
            metas = (f'<meta name="sentry-trace" content="{token}">'
                     f'<meta name="traceparent" content="{cookie}">')  # fmt: skip
            body = HEAD.format(metas).encode()
        elif self.path == "/basic/" and self.headers.get("Authorization") != BASIC:
            self.answer(401, [("WWW-Authenticate", "Basic"), ("Content-Length", "0")], b"")
            return
        elif self.path == "/trickle/":  # a byte at a time, each well within the timeout
            self.answer(200, [*headers, ("Content-Length", str(len(body)))], b"")
            try:
                for byte in body:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(0.05)
            except OSError:
                pass  # the checker gave up
            return
        elif self.path == "/big-gzip/":  # past the bound even compressed; the head comes first
            filler = base64.b64encode(os.urandom(6 * 1024 * 1024))
            body = gzip.compress(body.replace(b"</body>", filler + b"</body>"), compresslevel=1)
            headers.append(("Content-Encoding", "gzip"))
        elif self.path == "/gzip-bomb/":
            body = self.bomb
            headers.append(("Content-Encoding", "gzip"))
        elif self.path == "/not-gzip/":  # said to be gzip, and not
            headers.append(("Content-Encoding", "gzip"))
        elif self.path == "/idna-charset/":
            headers = [("Content-Type", "text/html; charset=idna")]
        self.answer(200, [*headers, ("Content-Length", str(len(body)))], body)
