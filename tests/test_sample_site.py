"""The sample site, through the real middleware: each page carries one set of tags in <head>."""

from __future__ import annotations

import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from bs4 import BeautifulSoup
from django.test import Client

from metatrace.checker import check, fetch
from sample_site.settings import DEMO_DSN
from tests.conftest import (
    INCOMING_SPAN,
    INCOMING_TRACE,
    SAMPLE_PAGES,
    TRACE_NAMES,
    decode_baggage,
    parse_trace_meta,
    split_sentry_trace,
)

pytestmark = pytest.mark.usefixtures("django_config")

HEADERS = {
    "sentry-trace": f"{INCOMING_TRACE}-{INCOMING_SPAN}-1",
    "baggage": (
        f"sentry-trace_id={INCOMING_TRACE},sentry-public_key=c1c1,sentry-sample_rate=1,"
        "sentry-sampled=true,sentry-release=shop%401.0,vendor=abc"
    ),
}
SERVER_DSN = "https://5e5e5e5e@o7.ingest.example.invalid/2"


def _head_tags(html: str) -> dict[str, str]:
    soup = BeautifulSoup(html, "html.parser")
    assert soup.head is not None
    in_head = [m for m in soup.head.find_all("meta") if m.get("name") in TRACE_NAMES]
    tags = parse_trace_meta(html)
    assert len(in_head) == len(tags), "every trace tag belongs in <head>"
    return tags


@pytest.mark.parametrize("path", SAMPLE_PAGES)
def test_page_continues_the_incoming_trace(client: Client, path: str) -> None:
    response = client.get(path, headers=HEADERS)
    assert response.status_code == 200
    tags = _head_tags(response.content.decode())
    assert set(tags) == {"sentry-trace", "baggage", "traceparent"}  # the site turns W3C on
    trace_id, span_id, flag = split_sentry_trace(tags["sentry-trace"])
    assert (trace_id, flag) == (INCOMING_TRACE, "1")
    assert span_id != INCOMING_SPAN
    assert tags["traceparent"] == f"00-{trace_id}-{span_id}-01"
    dsc = decode_baggage(tags["baggage"])
    assert (dsc["trace_id"], dsc["release"], dsc["public_key"]) == (
        INCOMING_TRACE,
        "shop@1.0",
        "c1c1",
    )


@pytest.mark.parametrize("path", SAMPLE_PAGES)
def test_page_starts_a_trace_with_a_server_dsn(client: Client, settings: Any, path: str) -> None:
    settings.METATRACE = {**settings.METATRACE, "DSN": SERVER_DSN, "TRACES_SAMPLE_RATE": 1.0}
    tags = _head_tags(client.get(path).content.decode())
    trace_id, _span_id, flag = split_sentry_trace(tags["sentry-trace"])
    assert trace_id != INCOMING_TRACE and flag == "1"
    dsc = decode_baggage(tags["baggage"])
    assert (dsc["trace_id"], dsc["public_key"], dsc["org_id"]) == (trace_id, "5e5e5e5e", "7")


@pytest.mark.parametrize("path", SAMPLE_PAGES)
def test_page_without_dsn_or_headers_leaves_sentry_tags_to_the_browser(
    client: Client, settings: Any, path: str
) -> None:
    settings.METATRACE = {**settings.METATRACE, "DSN": None}  # as `SENTRY_DSN= make run`
    tags = _head_tags(client.get(path).content.decode())
    assert list(tags) == ["traceparent"]


@pytest.mark.parametrize("path", SAMPLE_PAGES)
def test_by_default_the_page_starts_a_trace_with_the_demo_key(
    client: Client, settings: Any, path: str
) -> None:
    # The key the browser SDK has too (SAMPLE_BROWSER), so that it continues this trace.
    assert settings.METATRACE["DSN"] == settings.SAMPLE_BROWSER["DSN"] == DEMO_DSN
    tags = _head_tags(client.get(path).content.decode())
    trace_id = split_sentry_trace(tags["sentry-trace"])[0]
    dsc = decode_baggage(tags["baggage"])
    assert (dsc["trace_id"], dsc["public_key"]) == (trace_id, "b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0")


@pytest.mark.parametrize("path", SAMPLE_PAGES)
def test_panel_shows_the_incoming_headers_escaped(client: Client, path: str) -> None:
    hostile = '"><img src=x onerror=alert(1)>'
    response = client.get(path, headers={"sentry-trace": hostile})
    soup = BeautifulSoup(response.content.decode(), "html.parser")
    assert soup.find("img") is None
    panel = soup.find(id="trace-panel")
    assert panel is not None and hostile in panel.get_text()
    assert soup.find("script", src="/static/sample/panel.js") is not None
    assert soup.find("script", id="browser-config") is not None


def test_outgoing_page_shows_the_downstream_request_continuing(
    live_server: Any, settings: Any
) -> None:
    request = urllib.request.Request(f"{live_server.url}/outgoing/", headers=HEADERS)
    with urllib.request.urlopen(request, timeout=10) as response:
        html = response.read().decode()
    soup = BeautifulSoup(html, "html.parser")
    _trace_id, page_span, _flag = split_sentry_trace(_head_tags(html)["sentry-trace"])

    received = {cell["data-header"]: cell.get_text() for cell in soup.select("td.received")}
    assert split_sentry_trace(received["sentry-trace"]) == (INCOMING_TRACE, page_span, "1")
    assert received["baggage"].startswith(f"sentry-trace_id={INCOMING_TRACE},")
    assert received["baggage"].endswith(",vendor=abc")
    assert soup.find(id="downstream-trace-id").get_text() == INCOMING_TRACE
    assert soup.find(id="downstream-parent-span-id").get_text() == page_span
    assert soup.find(id="downstream-error") is None


def test_outgoing_page_reports_an_unreachable_downstream(client: Client, settings: Any) -> None:
    settings.SAMPLE_DOWNSTREAM_URL = "http://127.0.0.1:9/"  # the discard port: nothing listens
    response = client.get("/outgoing/", headers=HEADERS)
    assert response.status_code == 200
    soup = BeautifulSoup(response.content.decode(), "html.parser")
    assert "failed" in soup.find(id="downstream-error").get_text()


@pytest.mark.parametrize(
    "bundle, says",
    [
        ("sample/browser.js", "The browser SDK is starting…"),
        (
            "sample/no-such-bundle.js",
            "The browser SDK is not built: build its bundle with make frontend (needs npm).",
        ),
    ],
)
def test_the_page_says_whether_the_bundle_is_built(
    client: Client, settings: Any, bundle: str, says: str
) -> None:
    # What the raw page says before any script runs (or when none can).
    settings.SAMPLE_BROWSER = {**settings.SAMPLE_BROWSER, "BUNDLE": bundle}
    soup = BeautifulSoup(client.get("/").content.decode(), "html.parser")
    paragraph = soup.find(id="browser-trace")
    assert paragraph is not None and paragraph.get_text() == says
    assert soup.find("script", src=f"/static/{bundle}") is not None


@pytest.mark.parametrize("path, tags", [("/plain/", True), ("/plain/without-tags/", False)])
def test_the_pages_for_your_own_sdk_load_no_script_of_the_samples(
    client: Client, path: str, tags: bool
) -> None:
    response = client.get(path, headers=HEADERS)
    soup = BeautifulSoup(response.content.decode(), "html.parser")
    assert soup.find("script") is None
    names = {name for name, _ in _server_timing(response["Server-Timing"])}
    assert {"sentry-trace", "baggage"} <= names  # the trace, in Server-Timing either way
    found = _head_tags(response.content.decode())
    assert found["sentry-trace"].startswith(INCOMING_TRACE) if tags else found == {}, found


def _server_timing(header: str) -> list[tuple[str, str]]:
    from metatrace.checker.read import parse_server_timing

    metrics, _ = parse_server_timing([header])
    return [(metric.name, metric.params.get("desc", "")) for metric in metrics]


@pytest.mark.parametrize("source", ["sentry_sdk", "opentelemetry"])
def test_the_sample_site_under_each_tracer_hands_its_trace_to_the_page(
    tmp_path: Path, source: str
) -> None:
    # `METATRACE_SOURCE=sentry_sdk make run` (docs/tracers.md), on whichever sentry-sdk line is
    # installed: the checker passes each page, and the tracer sends the page's trace.
    from tests.test_setups import GUNICORN, serving

    command = [*GUNICORN, "sample_site.wsgi:application"]
    variant = {
        "DJANGO_SETTINGS_MODULE": "sample_site.settings",
        "METATRACE_SOURCE": source,
        "DJANGO_DEBUG": "0",
    }
    with serving(command, tmp_path, **variant) as server:
        for path in ["/", "/jinja/", "/context/"]:
            server.passes(check(server.url + path, dsn=DEMO_DSN))
            page = fetch(server.url + path, HEADERS, timeout=10)
            trace_id, _, _ = split_sentry_trace(_head_tags(page.html)["sentry-trace"])
            if source == "sentry_sdk":  # (OpenTelemetry reads no sentry-trace)
                assert trace_id == INCOMING_TRACE
            deadline = time.monotonic() + 10
            while trace_id not in server.log.read_text() and time.monotonic() < deadline:
                time.sleep(0.05)  # the tracer sends when the request ends
            assert trace_id in server.log.read_text(), server.log.read_text()
