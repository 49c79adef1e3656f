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
from metatrace.handover import read_handover
from tests.conftest import INCOMING_SPAN, INCOMING_TRACE, parse_trace_meta, split_sentry_trace
from tests.setups.tracers import SENTRY_DSN

ROOT = Path(__file__).resolve().parents[1]

GUNICORN = [sys.executable, "-m", "gunicorn", "--workers", "1", "--threads", "4"]
UVICORN = [sys.executable, "-m", "uvicorn", "--log-level", "warning"]
DJANGO_WSGI = [*GUNICORN, "tests.setups.wsgi:application"]
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


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def serving(command: list[str], tmp_path: Path, **variant: str) -> Iterator[Server]:
    """The app of `command` served on a port of its own, in the variant the environment
    names (tests/setups/django_settings.py), until the block ends."""
    port = _free_port()
    record = tmp_path / f"record-{port}.jsonl"
    record.touch()
    env = {
        **{name: value for name, value in os.environ.items() if not name.startswith("SENTRY_")},
        **variant,
        "SETUP_RECORD": str(record),
        "PYTHONPATH": str(ROOT),
        "DJANGO_SETTINGS_MODULE": "tests.setups.django_settings",
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


def _handover(server: Server, path: str) -> tuple[str, str, str]:
    """(trace id, span id of the meta tag, span id of the Server-Timing entry) of a page
    fetched as a new visitor, the meta tag read by BeautifulSoup."""
    page = fetch(server.url + path, {}, timeout=10)
    trace_id, span_id, _ = split_sentry_trace(parse_trace_meta(page.html)["sentry-trace"])
    [timing] = read_handover("", page.header("server-timing")).server_timing["sentry-trace"]
    timing_trace, timing_span, _ = split_sentry_trace(timing)
    assert timing_trace == trace_id
    return trace_id, span_id, timing_span


# sentry-sdk as the tracer --------------------------------------------------------------------

SENTRY_SETUPS = {
    "django-gunicorn": (DJANGO_WSGI, {"SETUP_TRACER": "sentry"}),
    "django-middleware-spans": (DJANGO_WSGI, {"SETUP_TRACER": "sentry-middleware-spans"}),
    "django-uvicorn": (DJANGO_ASGI, {"SETUP_TRACER": "sentry"}),
    "flask-gunicorn": (FLASK, {}),
    "starlette-uvicorn": (STARLETTE, {}),
}
DJANGO_PAGES = ["/t/function/", "/t/template-response/", "/t/class/", "/t/jinja/", "/s/child-span/"]
PAGES = {"flask-gunicorn": ["/"], "starlette-uvicorn": ["/", "/sync/"]}


@pytest.mark.parametrize("setup", SENTRY_SETUPS)
def test_sentry_sdk_as_the_tracer_hands_the_request_span_to_every_channel(
    tmp_path: Path, setup: str
) -> None:
    command, variant = SENTRY_SETUPS[setup]
    with serving(command, tmp_path, **variant) as server:
        for path in PAGES.get(setup, DJANGO_PAGES):
            server.passes(check(server.url + path, dsn=SENTRY_DSN))
            trace_id, meta_span, timing_span = _handover(server, path)
            # The tags and Server-Timing name one span: the transaction's, the request's own,
            # not a render or middleware span inside it (which end before the page loads).
            [transaction] = server.recorded(trace_id, "transaction")
            assert meta_span == timing_span == transaction["span_id"], (path, transaction)
            if path == "/s/child-span/":
                assert transaction["spans"], "the view's own span"


# OpenTelemetry's Django instrumentation ----------------------------------------------------


@pytest.mark.parametrize("key", ["key", "none"])
def test_opentelemetry_as_the_tracer_hands_the_server_span_to_every_channel(
    tmp_path: Path, key: str
) -> None:
    with serving(DJANGO_WSGI, tmp_path, SETUP_TRACER="otel", SETUP_KEY=key) as server:
        for path in ["/t/function/", "/s/child-span/"]:
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


def test_the_reverse_of_djangos_order_fails_the_system_check_and_the_checker(
    tmp_path: Path,
) -> None:
    env = {**os.environ, "SETUP_CACHE": "reverse", "PYTHONPATH": str(ROOT)}
    env["DJANGO_SETTINGS_MODULE"] = "tests.setups.django_settings"
    checked = subprocess.run(
        [sys.executable, "-m", "django", "check"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert checked.returncode != 0
    assert "metatrace.E002" in checked.stderr
    with serving(DJANGO_WSGI, tmp_path, SETUP_CACHE="reverse") as server:
        report = check(server.url + "/t/tag/")
    assert report.exit_status == FAILED
    failed = [finding.text for finding in report.findings("fail")]
    assert any(text.startswith("replayed: fetch 2 sent no trace") for text in failed), failed


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
        for path in ["/t/function/", "/s/child-span/"]:
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
