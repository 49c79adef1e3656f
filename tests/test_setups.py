"""The setups real sites run, through real servers (gunicorn, uvicorn), with the real tracers,
judged by the checker (`python -m metatrace check`): every page the kit renders on purpose
passes it. See tests/setups/ for the sites and their variants."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from bs4 import BeautifulSoup

from metatrace.checker import FAILED, OK, Report, check, fetch, render
from metatrace.checker.read import read_handover
from tests.conftest import (
    INCOMING_SPAN,
    INCOMING_TRACE,
    decode_baggage,
    parse_trace_meta,
    split_sentry_trace,
)
from tests.setups.tracers import SENTRY_DSN, segments

ROOT = Path(__file__).resolve().parents[1]

GUNICORN = [sys.executable, "-m", "gunicorn", "--workers", "1", "--threads", "4"]  # gthread
GUNICORN_SYNC = [sys.executable, "-m", "gunicorn", "--workers", "1"]  # its default sync worker
UVICORN = [sys.executable, "-m", "uvicorn", "--log-level", "warning"]
DJANGO_WSGI = [*GUNICORN, "tests.setups.wsgi:application"]
DJANGO_WSGI_SYNC = [*GUNICORN_SYNC, "tests.setups.wsgi:application"]
DJANGO_ASGI = [*UVICORN, "tests.setups.asgi:application"]
FLASK = [*GUNICORN, "tests.setups.flask_app:app"]
STARLETTE = [*UVICORN, "tests.setups.starlette_app:application"]


@dataclass(frozen=True)
class Server:
    url: str
    record: Path
    log: Path  # what the server printed: shown when a check fails

    def passes(self, report: Report) -> None:
        assert report.exit_status == OK, (
            f"{render(report)}\n\nThe server's log:\n{self.log.read_text()}"
        )

    def recorded(self, trace_id: str, what: str, timeout: float = 10.0) -> list[dict[str, Any]]:
        """What the server's tracer recorded of `trace_id` (waiting for it to be sent)."""
        deadline = time.monotonic() + timeout
        while True:
            lines = self.record.read_text(encoding="utf-8").splitlines()
            found = [entry for entry in map(json.loads, lines) if entry["trace_id"] == trace_id]
            if found or time.monotonic() > deadline:
                assert found, f"the server recorded no {what} of trace {trace_id}"
                return found
            time.sleep(0.05)

    def sentry_root(self, trace_id: str, span_id: str, timeout: float = 10.0) -> dict[str, Any]:
        """The request's root span (transaction or segment) that sentry-sdk recorded of
        `trace_id` with the id `span_id`, with the `names` of the spans below it (waiting for
        it to be sent); it fails if that span is no request's root."""
        deadline = time.monotonic() + timeout
        while True:
            spans = self.recorded(trace_id, "span", timeout)
            roots = [root for root in segments(spans) if root["span_id"] == span_id]
            if roots or time.monotonic() > deadline:
                assert roots, f"{span_id} is not the root of a request: {spans}"
                names = {span["span_id"]: span["name"] for span in spans}
                return dict(roots[0], names=[names[s] for s in roots[0]["spans"]])
            time.sleep(0.05)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def serving(command: list[str], tmp_path: Path, **variant: str) -> Iterator[Server]:
    """The app of `command` served on a port of its own, in the variant the environment
    names (tests/setups/django_settings.py; or other settings), until the block ends."""
    port = _free_port()
    record = tmp_path / f"record-{port}.jsonl"
    record.touch()
    env = {
        **{name: value for name, value in os.environ.items() if not name.startswith("SENTRY_")},
        "SETUP_RECORD": str(record),
        "PYTHONPATH": str(ROOT),
        "DJANGO_SETTINGS_MODULE": "tests.setups.django_settings",
        **variant,
    }
    bind = ["--bind", f"127.0.0.1:{port}"] if "gunicorn" in command else ["--port", str(port)]
    log = tmp_path / f"server-{port}.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [*command[:-1], *bind, command[-1]],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_for(port, process, log)
        yield Server(f"http://127.0.0.1:{port}", record, log)
    finally:
        process.terminate()
        process.wait(timeout=30)


def _wait_for(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the server stopped:\n{log.read_text()}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    pytest.fail(f"the server did not start:\n{log.read_text()}")


def _handover(
    server: Server, path: str, headers: dict[str, str] | None = None
) -> tuple[str, str, str]:
    """(trace id, span id of the meta tag, span id of the Server-Timing entry) of a page
    fetched as a new visitor (or with the trace `headers`), the meta tag read by
    BeautifulSoup."""
    page = fetch(server.url + path, headers or {}, timeout=10)
    trace_id, span_id, _ = split_sentry_trace(parse_trace_meta(page.html)["sentry-trace"])
    [timing] = read_handover("", page.header("server-timing")).server_timing["sentry-trace"]
    timing_trace, timing_span, _ = split_sentry_trace(timing)
    assert timing_trace == trace_id
    return trace_id, span_id, timing_span


# sentry-sdk as the tracer --------------------------------------------------------------------

SENTRY_SETUPS = {
    "django-gunicorn": (DJANGO_WSGI, {"SETUP_TRACER": "sentry"}),
    "django-gunicorn-sync": (DJANGO_WSGI_SYNC, {"SETUP_TRACER": "sentry"}),
    "django-middleware-spans": (DJANGO_WSGI, {"SETUP_TRACER": "sentry-middleware-spans"}),
    "django-uvicorn": (DJANGO_ASGI, {"SETUP_TRACER": "sentry"}),
    "flask-gunicorn": (FLASK, {}),
    "starlette-uvicorn": (STARLETTE, {}),
}
# Rendered, streamed (the server iterates the body after the view, and the tracer's span,
# ended: under gunicorn), nested in a span of the view's own, and async.
DJANGO_PAGES = [
    "/t/function/",
    "/t/template-response/",
    "/t/class/",
    "/t/jinja/",
    "/s/child-span/",
    "/t/streaming/",
    "/t/async/",
    "/t/async-streaming/",
]
PAGES = {"flask-gunicorn": ["/", "/streamed/"], "starlette-uvicorn": ["/", "/sync/", "/streamed/"]}
# What may come in: nothing, a Sentry trace with its DSC, a W3C trace alone.
INCOMING = {
    "started": {},
    "continued": {
        "sentry-trace": f"{INCOMING_TRACE}-{INCOMING_SPAN}-1",
        "baggage": f"sentry-trace_id={INCOMING_TRACE},sentry-public_key=5e5e,sentry-sampled=true",
    },
    "traceparent": {"traceparent": f"00-{INCOMING_TRACE}-{INCOMING_SPAN}-01"},
}


@pytest.mark.parametrize("setup", SENTRY_SETUPS)
def test_sentry_sdk_as_the_tracer_hands_the_request_span_to_every_channel(
    tmp_path: Path, setup: str
) -> None:
    command, variant = SENTRY_SETUPS[setup]
    with serving(command, tmp_path, **variant) as server:
        for path in PAGES.get(setup, DJANGO_PAGES):
            for incoming, headers in INCOMING.items():
                trace_id, meta_span, timing_span = _handover(server, path, headers)
                # The tags and Server-Timing name one span: the request's own (the
                # transaction of sentry-sdk 2.x, the segment of 3.x), not a render or
                # middleware span inside it (which end before the page loads), nor
                # metatrace's own trace (a streamed body is iterated after the span ended).
                assert meta_span == timing_span, (path, incoming)
                root = server.sentry_root(trace_id, meta_span)
                if incoming == "continued":  # (sentry-sdk reads no traceparent)
                    assert trace_id == INCOMING_TRACE, (path, incoming)
                    assert root["parent_span_id"] == INCOMING_SPAN, (path, incoming, root)
            server.passes(check(server.url + path, dsn=SENTRY_DSN))
            trace_id, meta_span, timing_span = _handover(server, path)
            # The tags and Server-Timing name one span: the request's own (the transaction of
            # sentry-sdk 2.x, the segment of 3.x), not a render or middleware span inside it
            # (which end before the page loads).
            assert meta_span == timing_span, path
            root = server.sentry_root(trace_id, meta_span)
            if path == "/s/child-span/":
                assert "render the page" in root["names"], "the view's own span"


# OpenTelemetry's Django instrumentation ----------------------------------------------------


@pytest.mark.parametrize("command", [DJANGO_WSGI, DJANGO_ASGI], ids=["gunicorn", "uvicorn"])
@pytest.mark.parametrize("key", ["key", "none"])
def test_opentelemetry_as_the_tracer_hands_the_server_span_to_every_channel(
    tmp_path: Path, key: str, command: list[str]
) -> None:
    with serving(command, tmp_path, SETUP_TRACER="otel", SETUP_KEY=key) as server:
        for path in ["/t/function/", "/s/child-span/", "/t/streaming/"]:
            report = check(server.url + path, dsn=SENTRY_DSN if key == "key" else None)
            server.passes(report)
            page = fetch(server.url + path, {}, timeout=10)
            traceparent = parse_trace_meta(page.html)["traceparent"]
            _, trace_id, span_id, _ = traceparent.split("-")
            spans = server.recorded(trace_id, "span")
            [server_span] = [span for span in spans if span["kind"] == "SERVER"]
            assert span_id == server_span["span_id"], (path, spans)
            timing = read_handover("", page.header("server-timing")).server_timing
            assert timing["traceparent"] == [traceparent]
            if key == "none":  # no DSC: no Sentry tags for @sentry/browser 11.12 and earlier
                assert "sentry-trace" not in parse_trace_meta(page.html)


# No key ---------------------------------------------------------------------------------------


def test_a_server_without_a_key_passes_and_the_browser_release_decides_the_sentry_trace(
    tmp_path: Path,
) -> None:
    with serving(DJANGO_WSGI, tmp_path, SETUP_KEY="none") as server:
        report = check(server.url + "/t/tag/")
        server.passes(report)
        assert any("traceparent only" in finding.text for finding in report.findings("warn"))
    with serving(DJANGO_WSGI, tmp_path, SETUP_KEY="none", SETUP_BROWSER="11.17.0") as server:
        # The page says nothing of the release it loads: the checker must be told, as the
        # server was. Told nothing, it judges the page for the releases that freeze {}.
        server.passes(check(server.url + "/t/tag/", sentry_browser_version="11.17.0"))
        report = check(server.url + "/t/tag/")
        assert report.exit_status == FAILED
        assert [f.text.split(":")[0] for f in report.findings("fail")] == [
            "meta baggage",
            "Server-Timing baggage",
        ]


# Django's cache middleware --------------------------------------------------------------------


@pytest.mark.parametrize("order", ["documented", "top", "both"])
def test_the_cache_middleware_in_any_working_order_hands_out_no_visitors_trace(
    tmp_path: Path, order: str
) -> None:
    with serving(DJANGO_WSGI, tmp_path, SETUP_CACHE=order) as server:
        report = check(server.url + "/t/tag/", dsn=SENTRY_DSN)
        server.passes(report)
        first = fetch(server.url + "/t/tag/", {}, timeout=10)  # a hit now
    assert "max-age=60" in first.header("cache-control")[0]
    for page in (first,):
        assert parse_trace_meta(page.html) == {} and page.header("server-timing") == []
    assert report.findings("fail") == []


def test_cache_page_hands_out_no_visitors_trace(tmp_path: Path) -> None:
    with serving(DJANGO_WSGI, tmp_path) as server:
        server.passes(check(server.url + "/t/cache-page/", dsn=SENTRY_DSN))


def test_the_reverse_of_djangos_order_fails_the_system_check(tmp_path: Path) -> None:
    env = {**os.environ, "SETUP_CACHE": "reverse", "PYTHONPATH": str(ROOT)}
    env["DJANGO_SETTINGS_MODULE"] = "tests.setups.django_settings"
    checked = subprocess.run(
        [sys.executable, "-m", "django", "check"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert checked.returncode != 0
    assert "metatrace.E002" in checked.stderr


# Heads of real size ---------------------------------------------------------------------------


@pytest.mark.parametrize("inject", ["0", "1"])
def test_big_heads_and_repeated_tags_leave_one_set_of_this_visitors_trace(
    tmp_path: Path, inject: str
) -> None:
    with serving(DJANGO_WSGI, tmp_path, SETUP_INJECT=inject) as server:
        for path in ["/s/big-head/", "/s/big-head-tag/", "/s/twice/"]:
            server.passes(check(server.url + path, dsn=SENTRY_DSN))
            page = fetch(server.url + path, {}, timeout=10)
            head = BeautifulSoup(page.html, "html.parser").head
            assert head is not None
            names = [meta["name"] for meta in head.find_all("meta") if meta.has_attr("name")]
            assert names == ["sentry-trace", "baggage", "traceparent"], (path, names)


# dd-trace-py and Elastic's APM agent -----------------------------------------------------------

# Incoming headers an attacker controls, as a tracer reads them: its own and W3C's.
HOSTILE = [
    {"x-datadog-trace-id": "<script>alert(1)</script>", "x-datadog-parent-id": "-1"},
    {
        "x-datadog-trace-id": "9" * 40,
        "x-datadog-parent-id": "1",
        "x-datadog-sampling-priority": "2",
    },
    {"traceparent": "00-" + "f" * 32 + "-" + "e" * 16 + '-01"><img src=x>'},
    {"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "baggage": "<b>=1"},
]
# Ids that Elastic's agent takes as they are (it splits at "-" and checks no part): a trace id
# of markup, one that int() reads only after a comma or a tab, and a parent id (the page-load
# span id) that is no id. metatrace renders its own trace then, with no page-load values.
ELASTIC_TAKES = [
    {"elastic-apm-traceparent": "00-<svg onload=alert(1)>-b7ad6b7169203331-01"},
    {"traceparent": "00-," + "a" * 32 + "-" + "b" * 16 + "-01"},
    {"traceparent": "00-\t" + "a" * 32 + "-" + "b" * 16 + "-01"},
    {"traceparent": "00-" + "a" * 32 + '-junk"<x>-01'},
]


def _datadog_tags(html: str) -> tuple[str, str]:
    head = BeautifulSoup(html, "html.parser").head
    assert head is not None
    values = {
        m["name"]: m["content"]
        for m in head.find_all("meta")
        if m.get("name", "").startswith("dd-")
    }
    return values["dd-trace-id"], values["dd-trace-time"]


def test_ddtrace_as_the_tracer_hands_its_request_span_to_every_channel(tmp_path: Path) -> None:
    with serving(DJANGO_WSGI, tmp_path, SETUP_TRACER="ddtrace") as server:
        for path in ["/t/function/", "/s/child-span/", "/t/streaming/"]:
            server.passes(check(server.url + path, dsn=SENTRY_DSN))
            before = time.time()
            page = fetch(server.url + path, {}, timeout=10)
            tags = parse_trace_meta(page.html)
            _, trace_id, span_id, _ = tags["traceparent"].split("-")
            assert tags["sentry-trace"].startswith(f"{trace_id}-{span_id}")
            # The request's span: the root of what dd-trace-py recorded, django.request.
            spans = server.recorded(trace_id, "span")
            [root] = [span for span in spans if span["parent_span_id"] is None]
            assert (root["name"], root["span_id"]) == ("django.request", span_id), spans
            # Datadog RUM's tags: the low 64 bits in decimal, and when the page was rendered.
            dd_id, dd_time = _datadog_tags(page.html)
            assert int(dd_id) == int(trace_id[16:], 16)
            assert before - 1 <= int(dd_time) / 1000 <= time.time() + 1


@pytest.mark.parametrize("headers", HOSTILE + ELASTIC_TAKES)
@pytest.mark.parametrize("tracer", ["ddtrace", "elastic"])
def test_hostile_headers_reach_the_page_through_no_tracer(
    tmp_path: Path, tracer: str, headers: dict[str, str]
) -> None:
    path = "/s/elastic/" if tracer == "elastic" else "/t/tag/"
    with serving(DJANGO_WSGI, tmp_path, SETUP_TRACER=tracer) as server:
        page = fetch(server.url + path, headers, timeout=10)
    assert page.status == 200, page.html[-2000:]
    soup = BeautifulSoup(page.html, "html.parser")
    assert soup.find("img") is None and soup.find("svg") is None and soup.find("b") is None
    assert soup.find("x") is None
    tags = parse_trace_meta(page.html)
    assert re.fullmatch(r"00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]", tags["traceparent"])
    # Elastic's page-load values: for its own transaction, of valid ids, and for no other.
    scripts = soup.find_all("script")
    assert len(scripts) == (tracer == "elastic" and headers not in ELASTIC_TAKES)
    for script in scripts:
        assert script.get("id") == "elastic-apm-page-load"
        values = json.loads(script.get_text())
        assert values["pageLoadTraceId"] == tags["traceparent"][3:35]
        assert re.fullmatch(r"[0-9a-f]{16}", values["pageLoadSpanId"])
    if tracer == "ddtrace":
        dd_id, _ = _datadog_tags(page.html)
        assert dd_id.isdigit() and int(dd_id) == int(tags["traceparent"][19:35], 16)


@pytest.mark.parametrize("tracer", ["ddtrace", "elastic"])
def test_a_page_of_djangos_cache_middleware_carries_no_tracers_tags_either(
    tmp_path: Path, tracer: str
) -> None:
    with serving(DJANGO_WSGI, tmp_path, SETUP_TRACER=tracer, SETUP_CACHE="documented") as server:
        server.passes(check(server.url + "/s/elastic/", dsn=SENTRY_DSN))
        pages = [fetch(server.url + "/s/elastic/", {}, timeout=10) for _ in range(2)]
    for page in pages:  # the page that was stored, and the hit
        assert "max-age=60" in page.header("cache-control")[0]
        soup = BeautifulSoup(page.html, "html.parser")
        assert soup.find("meta", attrs={"name": True}) is None  # no Sentry, W3C or dd- tags
        assert soup.find("script") is None  # nor Elastic's page-load values
        assert soup.title is not None and soup.title.string == "elastic"  # the rest is there
        assert page.header("server-timing") == []


def test_a_stale_or_repeated_elastic_script_is_replaced_with_the_requests(tmp_path: Path) -> None:
    # A cached include serves the first visitor's page-load values to the next ones (the tag
    # itself refuses to compile inside {% cache %}, an include cannot be seen there).
    with serving(DJANGO_WSGI, tmp_path, SETUP_TRACER="elastic") as server:
        paths = ["/s/elastic-cached/", "/s/elastic-cached/", "/s/elastic-cached/?twice"]
        for path in [*paths, "/s/elastic-cached/?twice&timed"]:  # a page with headers to edit
            server.passes(check(server.url + path, dsn=SENTRY_DSN))
            incoming = {"traceparent": f"00-{INCOMING_TRACE}-{INCOMING_SPAN}-01"}
            page = fetch(server.url + path, incoming, timeout=10)
            soup = BeautifulSoup(page.html, "html.parser")
            [script] = soup.find_all("script")
            values = json.loads(script.get_text())
            assert values["pageLoadTraceId"] == INCOMING_TRACE  # this request's
            assert values["pageLoadSpanId"] == INCOMING_SPAN
            assert soup.title is not None and soup.title.string == "elastic"


@pytest.mark.parametrize("rate", ["1.0", "0.0"])
def test_elastic_apm_as_the_tracer_hands_its_transaction_and_the_rum_page_load_values(
    tmp_path: Path, rate: str
) -> None:
    with serving(DJANGO_WSGI, tmp_path, SETUP_TRACER="elastic", SETUP_ELASTIC_RATE=rate) as server:
        if rate == "1.0":
            server.passes(check(server.url + "/s/elastic/", dsn=SENTRY_DSN))
        page = fetch(server.url + "/s/elastic/", {}, timeout=10)
        tags = parse_trace_meta(page.html)
        _, trace_id, span_id, flags = tags["traceparent"].split("-")
        script = BeautifulSoup(page.html, "html.parser").find(id="elastic-apm-page-load")
        assert script is not None and script.get("type") == "application/json"
        values = json.loads(script.get_text())
        assert values["pageLoadTraceId"] == trace_id
        assert values["pageLoadSampled"] is (rate == "1.0") and flags == (
            "01" if rate == "1.0" else "00"
        )
        if rate == "1.0":  # Elastic's agent sends no unsampled transaction to a new APM Server
            [transaction] = server.recorded(trace_id, "transaction")
            # The tags name the server's transaction; the browser's span of the document, whose
            # id the page reserves, is its parent (as Elastic's agents do it).
            assert transaction["span_id"] == span_id
            assert transaction["parent_span_id"] == values["pageLoadSpanId"] != span_id


# The tracer's trace, whatever comes in ---------------------------------------------------------

SENTRY_SERVERS = {"gunicorn": DJANGO_WSGI, "uvicorn": DJANGO_ASGI}
KEY = SENTRY_DSN.split("//")[1].split("@")[0]


def _near_the_bound() -> str:
    """An incoming baggage of 8,170 bytes: its trace's DSC, then other vendors' members. With
    the `sentry-sample_rand` member that sentry-sdk adds, it passes the 8,192-byte bound."""
    dsc = f"sentry-trace_id={INCOMING_TRACE},sentry-public_key=c0ffee,sentry-sampled=true"
    members = [dsc]
    while len(",".join(members)) < 8100:
        members.append(f"vendor{len(members)}=" + "v" * 40)
    baggage = ",".join(members)
    return baggage + ",pad=" + "p" * (8170 - len(baggage) - 5)


@pytest.mark.parametrize("server", SENTRY_SERVERS)
def test_a_baggage_near_the_bound_keeps_the_trace_and_its_dsc(tmp_path: Path, server: str) -> None:
    baggage = _near_the_bound()
    assert len(baggage) == 8170
    headers = {"sentry-trace": f"{INCOMING_TRACE}-{INCOMING_SPAN}-1", "baggage": baggage}
    with serving(SENTRY_SERVERS[server], tmp_path, SETUP_TRACER="sentry") as running:
        for path in ["/t/function/", "/t/streaming/"]:
            page = fetch(running.url + path, headers, timeout=10)
            tags = parse_trace_meta(page.html)
            trace_id, span_id, _ = split_sentry_trace(tags["sentry-trace"])
            assert trace_id == INCOMING_TRACE, path
            running.sentry_root(trace_id, span_id)
            dsc = decode_baggage(tags["baggage"])
            assert (dsc["trace_id"], dsc["public_key"]) == (INCOMING_TRACE, "c0ffee"), path
            timing = read_handover("", page.header("server-timing")).server_timing
            assert timing["sentry-trace"] == [tags["sentry-trace"]], path
            assert [decode_baggage(value) for value in timing["baggage"]] == [dsc], path


@pytest.mark.parametrize("server", SENTRY_SERVERS)
def test_a_sentry_trace_with_another_traces_baggage_gets_a_dsc_of_its_own(
    tmp_path: Path, server: str
) -> None:
    other = "0af7651916cd43dd8448eb211c80319c"
    headers = {
        "sentry-trace": f"{INCOMING_TRACE}-{INCOMING_SPAN}-1",
        "baggage": f"sentry-trace_id={other},sentry-public_key=c0ffee,sentry-release=theirs",
    }
    with serving(SENTRY_SERVERS[server], tmp_path, SETUP_TRACER="sentry") as running:
        for path in ["/t/function/", "/t/streaming/", "/t/async-streaming/"]:
            page = fetch(running.url + path, headers, timeout=10)
            tags = parse_trace_meta(page.html)
            trace_id, span_id, flag = split_sentry_trace(tags["sentry-trace"])
            assert (trace_id, flag) == (INCOMING_TRACE, "1"), path
            running.sentry_root(trace_id, span_id)
            # The trace it continued, with a DSC of the server's: its key, no one else's.
            dsc = decode_baggage(tags["baggage"])
            assert (dsc["trace_id"], dsc["public_key"], dsc["sampled"]) == (
                INCOMING_TRACE,
                KEY,
                "true",
            ), path
            assert "release" not in dsc or dsc["release"] != "theirs"
            timing = read_handover("", page.header("server-timing")).server_timing
            assert timing["sentry-trace"] == [tags["sentry-trace"]], path
            assert timing["baggage"] == [tags["baggage"]], path


# Django's cache middleware in the order that leaks ----------------------------------------------


@pytest.mark.parametrize("command", [DJANGO_WSGI, DJANGO_ASGI], ids=["gunicorn", "uvicorn"])
def test_the_reverse_of_djangos_order_stops_every_server_at_start_up(
    tmp_path: Path, command: list[str]
) -> None:
    log = _refused(command, tmp_path, SETUP_CACHE="reverse")
    assert (
        "django.middleware.cache.FetchFromCacheMiddleware comes before "
        "metatrace.middleware.TraceMiddleware and django.middleware.cache.UpdateCacheMiddleware "
        "after it" in log
    ), log
    assert "Use Django's documented order" in log and "(metatrace.E002)" in log


def _refused(command: list[str], tmp_path: Path, **variant: str) -> str:
    """What the server printed as it refused to start (it must stop within a minute)."""
    env = {**os.environ, **variant, "PYTHONPATH": str(ROOT)}
    env["DJANGO_SETTINGS_MODULE"] = "tests.setups.django_settings"
    env["SETUP_RECORD"] = str(tmp_path / "record.jsonl")
    port = ["--bind", f"127.0.0.1:{_free_port()}"] if "gunicorn" in command else ["--port", "0"]
    result = subprocess.run(
        [*command[:-1], *port, command[-1]],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    return result.stdout + result.stderr


# A tracer named as SOURCE that records nothing -------------------------------------------------


@pytest.mark.parametrize(
    "variant, cause",
    [
        (
            {"SETUP_TRACER": "elastic", "SETUP_DEBUG": "1"},
            "SOURCE is 'elasticapm', but Django's DEBUG is True, and Elastic's agent records "
            "nothing then unless its own DEBUG option is on. Set ELASTIC_APM['DEBUG'] = True, "
            "or DEBUG = False.",
        ),
        (
            {"SETUP_TRACER": "ddtrace-unpatched"},
            "SOURCE is 'ddtrace', but dd-trace-py's Django integration is not on. Start the "
            "server under `ddtrace-run`, or call ddtrace.patch(django=True) (or `import "
            "ddtrace.auto`) before Django loads.",
        ),
    ],
    ids=["elastic-debug", "ddtrace-unpatched"],
)
def test_a_tracer_that_records_nothing_is_named_once_at_warning(
    tmp_path: Path, variant: dict[str, str], cause: str
) -> None:
    with serving(DJANGO_WSGI, tmp_path, **variant) as server:
        for _ in range(3):
            page = fetch(server.url + "/t/tag/", {}, timeout=10)
            assert "traceparent" in parse_trace_meta(page.html)  # metatrace's own trace
        log = server.log.read_text()
    said = [line for line in log.splitlines() if cause in line]
    assert len(said) == 1, log
    assert said[0].endswith(
        "Until then the pages carry metatrace's own trace, which that tracer never sends."
    )


# INJECT and the encoding ---------------------------------------------------------------------


def test_injected_tags_come_after_the_meta_charset(tmp_path: Path) -> None:
    # A baggage of 1 KB before <meta charset> would push it past the 1,024 bytes in which
    # browsers look for the encoding.
    headers = {
        "sentry-trace": f"{INCOMING_TRACE}-{INCOMING_SPAN}-1",
        "baggage": f"sentry-trace_id={INCOMING_TRACE},sentry-public_key=c0ffee,"
        f"sentry-release={'r' * 1000}",
    }
    with serving(DJANGO_WSGI, tmp_path, SETUP_INJECT="1") as server:
        server.passes(check(server.url + "/s/charset/", dsn=SENTRY_DSN))
        page = fetch(server.url + "/s/charset/", headers, timeout=10)
    head = BeautifulSoup(page.html, "html.parser").head
    assert head is not None
    metas = head.find_all("meta")
    assert metas[0].get("charset") == "utf-8"
    assert [meta.get("name") for meta in metas[1:]] == ["sentry-trace", "baggage", "traceparent"]
    assert page.html.encode().index(b'<meta charset="utf-8">') < 1024 - 22
    assert len(parse_trace_meta(page.html)["baggage"]) > 1000


# dd-trace-py's sample_rand ------------------------------------------------------------------


def test_ddtrace_traces_started_together_draw_independent_sample_rands(tmp_path: Path) -> None:
    # dd-trace-py writes the start second in the high bits of its trace ids: traces started in
    # the same second share them, and a sample_rand taken from them would be one value.
    with serving(DJANGO_WSGI, tmp_path, SETUP_TRACER="ddtrace") as server:
        pages = [fetch(server.url + "/t/tag/", {}, timeout=10) for _ in range(24)]
    tags = [parse_trace_meta(page.html) for page in pages]
    trace_ids = [split_sentry_trace(tag["sentry-trace"])[0] for tag in tags]
    rands = [float(decode_baggage(tag["baggage"])["sample_rand"]) for tag in tags]
    assert len({trace_id[:16] for trace_id in trace_ids}) < len(trace_ids)  # shared high bits
    assert len(set(rands)) == len(rands)
    assert min(rands) < 0.25 and max(rands) > 0.75  # spread over [0, 1): 1 - 2 * 0.75**24
    assert sorted(rands) != rands and sorted(rands, reverse=True) != rands  # no fixed step
