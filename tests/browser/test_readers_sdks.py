"""The browser SDKs besides Sentry's and OpenTelemetry's, as docs/readers.md sets them up: each
`js` block there runs as written in Chromium, on a page of a real Django server, for a trace the
server started and one it continued, and what the SDK sends carries the server's trace.

The SDKs are the real ones from npm, pinned in frontend/readers/ and bundled by esbuild. What
they send is answered in the page (Playwright's routes); `sendBeacon`, which routes do not
stop, is made a fetch, and the browser resolves no host but this machine's.
"""

from __future__ import annotations

import gzip
import json
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from tests.test_setups import DJANGO_WSGI, serving

from .conftest import CHROMIUM_ARGS, REPO_ROOT, SERVER_DSN, esbuild

pytestmark = pytest.mark.browser

READERS = REPO_ROOT / "frontend" / "readers"
DOC = REPO_ROOT / "docs" / "readers.md"
SECTION = re.compile(r"^### (?P<sdk>.+?)\n\n```js\n(?P<code>.*?)^```$", re.M | re.S)
# An incoming trace, as the browser's request carries it from a page that linked here.
TRACE_ID, PARENT = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"
INCOMING = {
    "traceparent": f"00-{TRACE_ID}-{PARENT}-01",
    "tracestate": "congo=t61rcWkgMzE",
    "sentry-trace": f"{TRACE_ID}-{PARENT}-1",
}
# Telemetry may only reach this machine; and sendBeacon is made a fetch, which routes see.
ISOLATED = [*CHROMIUM_ARGS, "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"]
BEACON_AS_FETCH = """navigator.sendBeacon = (url, data) => {
  fetch(url, {method: "POST", body: data, keepalive: true}).catch(() => {});
  return true;
};"""


def snippets() -> dict[str, str]:
    return {m["sdk"]: m["code"] for m in SECTION.finditer(DOC.read_text(encoding="utf-8"))}


@cache
def _bundle(sdk: str) -> str:
    return esbuild(snippets()[sdk], READERS)


@dataclass
class Sent:
    """What the page sent anywhere but to its own server, decoded."""

    bodies: list[str] = field(default_factory=list)

    def json_lines(self) -> Iterator[Any]:
        for body in self.bodies:
            for line in body.splitlines() or [body]:
                try:
                    yield json.loads(line)
                except ValueError:
                    continue

    def objects(self) -> Iterator[dict[str, Any]]:
        """Each JSON object sent, those in a JSON array too."""
        for value in self.json_lines():
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, dict):
                    yield item


@pytest.fixture(scope="module")
def isolated_browser(chromium_browser: Any) -> Iterator[Any]:
    browser = chromium_browser.browser_type.launch(
        executable_path=shutil.which("chromium"), args=ISOLATED, headless=True
    )
    yield browser
    browser.close()


def _load(
    browser: Any, origin: str, path: str, sdk: str, incoming: bool
) -> tuple[Any, Sent, dict[str, str]]:
    """The page at `path`, with the SDK's snippet as the last script of its head; returns the
    page, what it sent, and the page's own response headers."""
    context = browser.new_context(extra_http_headers=INCOMING if incoming else {})
    context.add_init_script(BEACON_AS_FETCH)
    sent = Sent()
    served: dict[str, str] = {}
    script = f"<script>{_bundle(sdk)}</script>"

    def route(route: Any) -> None:
        request = route.request
        if request.url.startswith(origin):
            if request.url.split("?")[0] == origin + path:
                response = route.fetch()
                served.update(response.headers)
                body = response.text().replace("</head>", f"{script}</head>", 1)
                route.fulfill(response=response, body=body)
            else:
                route.continue_()
            return
        data = request.post_data_buffer
        if data:
            sent.bodies.append(
                (gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data).decode()
            )
        headers = {
            "Access-Control-Allow-Origin": request.headers.get("origin", "*"),
            "Access-Control-Allow-Credentials": "true",
            "Access-Control-Allow-Headers": "*",
        }
        route.fulfill(status=200, headers=headers, content_type="application/json", body="{}")

    context.route("**/*", route)
    page = context.new_page()
    page.goto(origin + path, wait_until="load")
    return page, sent, served


def _wait(page: Any, found: Callable[[], list[Any]], what: str, timeout_ms: int) -> Any:
    waited = 0
    while not (items := found()):
        assert waited < timeout_ms, f"no {what} within {timeout_ms} ms"
        page.wait_for_timeout(250)
        waited += 250
    return items[0]


def _page_trace(served: dict[str, str]) -> tuple[str, str]:
    """(trace id, span id) the server gave the page, from its Server-Timing traceparent."""
    found = re.search(
        r'traceparent;desc="00-([0-9a-f]{32})-([0-9a-f]{16})-0[01]"', served["server-timing"]
    )
    assert found is not None, served
    return found[1], found[2]


@pytest.fixture
def w3c_site(live_server: Any, settings: Any) -> str:
    """The sample site with a key, traceparent and tracestate, and every trace sampled."""
    settings.METATRACE = {
        **settings.METATRACE,
        "DSN": SERVER_DSN,
        "W3C": True,
        "TRACESTATE": True,
        "TRACES_SAMPLE_RATE": 1.0,
    }
    return str(live_server.url)


@pytest.mark.parametrize("incoming", [False, True], ids=["started", "continued"])
@pytest.mark.parametrize("path", ["/plain/", "/plain/without-tags/"], ids=["meta", "server-timing"])
def test_application_insights_joins_the_servers_operation(
    isolated_browser: Any, w3c_site: str, path: str, incoming: bool
) -> None:
    page, sent, served = _load(isolated_browser, w3c_site, path, "Application Insights", incoming)
    trace_id, span_id = _page_trace(served)
    page.evaluate("() => window.appInsights.flush()")
    pageview = _wait(
        page,
        lambda: [e for e in sent.objects() if str(e.get("name", "")).endswith(".Pageview")],
        "page view",
        15_000,
    )
    tags = pageview["tags"]
    assert (tags["ai.operation.id"], tags["ai.operation.parentId"]) == (trace_id, span_id)
    if incoming:
        assert trace_id == TRACE_ID
        assert page.evaluate("() => window.appInsights.core.getTraceCtx().traceState.hdrs()") == [
            INCOMING["tracestate"]
        ]


@pytest.mark.parametrize("incoming", [False, True], ids=["started", "continued"])
def test_faro_links_its_navigation_to_the_servers_trace(
    isolated_browser: Any, w3c_site: str, incoming: bool
) -> None:
    page, sent, served = _load(
        isolated_browser, w3c_site, "/plain/without-tags/", "Grafana Faro", incoming
    )
    trace_id, span_id = _page_trace(served)
    navigation = _wait(
        page,
        lambda: [
            event
            for body in sent.objects()
            for event in body.get("events", [])
            if event.get("name") == "faro.performance.navigation"
        ],
        "navigation event",
        15_000,
    )
    assert navigation["trace"] == {"trace_id": trace_id, "span_id": span_id}


@pytest.mark.parametrize("incoming", [False, True], ids=["started", "continued"])
def test_splunk_links_its_document_fetch_to_the_servers_span(
    isolated_browser: Any, w3c_site: str, incoming: bool
) -> None:
    page, sent, served = _load(
        isolated_browser, w3c_site, "/plain/without-tags/", "Splunk RUM", incoming
    )
    trace_id, span_id = _page_trace(served)
    fetch = _wait(
        page,
        lambda: [span for span in sent.objects() if span.get("name") == "documentFetch"],
        "documentFetch span",
        15_000,
    )
    assert (fetch["tags"]["link.traceId"], fetch["tags"]["link.spanId"]) == (trace_id, span_id)


@pytest.mark.parametrize("incoming", [False, True], ids=["started", "continued"])
def test_splunk_makes_document_load_a_child_of_the_servers_span_from_the_meta_tag(
    isolated_browser: Any, w3c_site: str, incoming: bool
) -> None:
    page, sent, served = _load(isolated_browser, w3c_site, "/plain/", "Splunk RUM", incoming)
    trace_id, span_id = _page_trace(served)
    document_load = _wait(
        page,
        lambda: [span for span in sent.objects() if span.get("name") == "documentLoad"],
        "documentLoad span",
        15_000,
    )
    assert (document_load["traceId"], document_load["parentId"]) == (trace_id, span_id)


@pytest.mark.parametrize("incoming", [False, True], ids=["started", "continued"])
def test_honeycomb_makes_document_load_a_child_of_the_servers_span(
    isolated_browser: Any, w3c_site: str, incoming: bool
) -> None:
    page, sent, served = _load(isolated_browser, w3c_site, "/plain/", "Honeycomb", incoming)
    trace_id, span_id = _page_trace(served)
    document_load = _wait(
        page,
        lambda: [
            span
            for body in sent.objects()
            for resource in body.get("resourceSpans", [])
            for scope in resource["scopeSpans"]
            for span in scope["spans"]
            if span["name"] == "documentLoad"
        ],
        "documentLoad span",
        15_000,
    )
    assert (document_load["traceId"], document_load["parentSpanId"]) == (trace_id, span_id)


@pytest.mark.parametrize("incoming", [False, True], ids=["started", "continued"])
def test_datadog_puts_the_document_in_dd_trace_pys_trace(
    isolated_browser: Any, tmp_path: Path, incoming: bool
) -> None:
    with serving(DJANGO_WSGI, tmp_path, SETUP_TRACER="ddtrace") as server:
        page, sent, served = _load(isolated_browser, server.url, "/t/tag/", "Datadog", incoming)
        trace_id, span_id = _page_trace(served)
        spans = server.recorded(trace_id, "span")
    assert [s["name"] for s in spans if s["span_id"] == span_id] == ["django.request"], spans
    if incoming:  # dd-trace-py continued the browser's traceparent
        assert trace_id == TRACE_ID

    def document() -> list[dict[str, Any]]:
        # Datadog sends a batch every 30 s, or sooner once it holds 16 KiB: an action that big
        # sends what it has now.
        page.evaluate("() => window.DD_RUM.addAction('flush', {pad: 'x'.repeat(20000)})")
        return [
            event
            for event in sent.objects()
            if event.get("type") == "resource" and event["resource"]["type"] == "document"
        ]

    resource = _wait(page, document, "document resource", 15_000)
    # The trace Datadog files the document under: dd-trace-py's, by its low 64 bits.
    assert int(resource["_dd"]["trace_id"]) == int(trace_id[16:], 16)


@pytest.mark.parametrize("incoming", [False, True], ids=["started", "continued"])
def test_elastic_makes_its_span_of_the_document_the_parent_of_the_servers_transaction(
    isolated_browser: Any, tmp_path: Path, incoming: bool
) -> None:
    with serving(DJANGO_WSGI, tmp_path, SETUP_TRACER="elastic") as server:
        page, sent, served = _load(isolated_browser, server.url, "/s/elastic/", "Elastic", incoming)
        trace_id, span_id = _page_trace(served)
        [transaction] = server.recorded(trace_id, "transaction")
    assert transaction["span_id"] == span_id
    if incoming:
        assert trace_id == TRACE_ID

    def page_load() -> list[dict[str, Any]]:
        return [
            event["transaction"]
            for event in sent.objects()
            if event.get("transaction", {}).get("type") == "page-load"
        ]

    browser_transaction = _wait(page, page_load, "page-load transaction", 15_000)
    assert browser_transaction["trace_id"] == trace_id and browser_transaction["sampled"]
    [document] = [
        event["span"]
        for event in sent.objects()
        if event.get("span", {}).get("name") == "Requesting and receiving the document"
    ]
    assert document["trace_id"] == trace_id
    assert document["parent_id"] == browser_transaction["id"]
    # The browser's span of the document is the parent of the server's transaction.
    assert document["id"] == transaction["parent_span_id"]
