"""docs/browser.md, as written: each `js` and `html` block of it (and of the README) starts its
browser SDK in real Chromium on the sample site's page for your own SDK (`/plain/`), and the
SDK continues the trace that the server rendered into that page.

A `js` block is bundled by esbuild from frontend/node_modules, as an application's build would,
and becomes the page's first script; an `html` block goes into the page's head. What the SDKs
send (Sentry envelopes, OTLP spans) is answered in the page's network layer: nothing leaves the
machine. Sentry's CDN is served from a build of the same release of @sentry/browser.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from .conftest import (
    CHROMIUM_ARGS,
    REPO_ROOT,
    SENTRY_TRACE_RE,
    SERVER_DSN,
    TRACEPARENT_RE,
    esbuild,
)

pytestmark = pytest.mark.browser

FRONTEND = REPO_ROOT / "frontend"
PAGES = [REPO_ROOT / "docs" / "browser.md", REPO_ROOT / "README.md"]
FENCE = re.compile(r"^```(js|html)\n(.*?)^```$", re.M | re.S)
SENTRY_INGEST = re.compile(r"^https://o0\.ingest\.sentry\.io/api/0/envelope/")
CDN = re.compile(r"^https://browser\.sentry-cdn\.com/([^/]+)/bundle\.tracing\.min\.js$")


def blocks() -> list[Any]:
    found = []
    for page in PAGES:
        for number, match in enumerate(FENCE.finditer(page.read_text(encoding="utf-8"))):
            language, code = match.groups()
            found.append(pytest.param(language, code, id=f"{page.name}-{language}-{number}"))
    return found


def _esbuild(source: str, *options: str) -> str:
    return esbuild(source, FRONTEND, *options, timeout=60)


@cache
def _cdn_bundle(version: str) -> str:
    """What the CDN serves as bundle.tracing.min.js of `version`: the SDK as the global
    `Sentry`, built from the readers' folder (frontend/, oldest/, newest/) that has it."""
    folders = [FRONTEND, FRONTEND / "oldest", FRONTEND / "newest"]
    found = [folder for folder in folders if _installed(folder, "@sentry/browser") == version]
    assert found, f"no frontend folder has @sentry/browser {version}: make frontend"
    code = 'export * from "@sentry/browser";'
    return esbuild(code, found[0], "--global-name=Sentry", "--minify", timeout=60)


def _installed(folder: Path, package: str) -> str | None:
    manifest = folder / "node_modules" / package / "package.json"
    if not manifest.is_file():
        return None
    return str(json.loads(manifest.read_text(encoding="utf-8"))["version"])


class Network:
    """What the page sends to Sentry and to an OpenTelemetry collector, answered in the page."""

    def __init__(self) -> None:
        self.console: list[str] = []  # what the page logged: shown when something is missing
        self.envelopes: list[str] = []
        self.otlp: list[dict[str, Any]] = []
        self.requests: dict[str, dict[str, str]] = {}

    def pageloads(self) -> list[dict[str, Any]]:
        """The trace context of each page load the SDK sent: a `transaction` event, or (as
        @sentry/browser 11 streams spans by default) a `span` item that is its segment."""
        found = []
        for envelope in self.envelopes:
            lines = envelope.split("\n")
            for header, payload in zip(lines[1::2], lines[2::2], strict=False):
                kind, item = json.loads(header).get("type"), json.loads(payload)
                if kind == "transaction" and item["contexts"]["trace"].get("op") == "pageload":
                    found.append(item["contexts"]["trace"])
                elif kind == "span":
                    found += [
                        span
                        for span in item["items"]
                        if span.get("is_segment")
                        and span["attributes"].get("sentry.op", {}).get("value") == "pageload"
                    ]
        return found

    def spans(self) -> list[dict[str, Any]]:
        return [
            span
            for export in self.otlp
            for resource in export["resourceSpans"]
            for scope in resource["scopeSpans"]
            for span in scope["spans"]
        ]


CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Headers": "*",
    "Access-Control-Allow-Methods": "POST, OPTIONS",
}


@pytest.fixture
def server_settings(settings: Any) -> Any:
    """The sample site with a key of its own, and traceparent on."""
    settings.METATRACE = {**settings.METATRACE, "DSN": SERVER_DSN, "W3C": True}
    return settings


@pytest.fixture
def open_page(
    chromium_browser: Any, live_server: Any, server_settings: Any
) -> Iterator[Callable[..., tuple[Any, Network, dict[str, str]]]]:
    """open_page(head_html, path) -> (page, network, the tags the server rendered)."""
    contexts = []

    def open_page(head: str, path: str = "/plain/") -> tuple[Any, Network, dict[str, str]]:
        context = chromium_browser.new_context()
        contexts.append(context)
        page = context.new_page()
        network = Network()
        page.on("console", lambda message: network.console.append(message.text))
        page.on("pageerror", lambda error: network.console.append(str(error)))
        rendered: dict[str, str] = {}

        def document(route: Any) -> None:
            response = route.fetch()
            html = response.text()
            for name in ("sentry-trace", "traceparent"):
                found = re.search(rf'<meta name="{name}" content="([^"]+)">', html)
                if found:
                    rendered[name] = found.group(1)
            route.fulfill(response=response, body=html.replace("</head>", f"{head}</head>", 1))

        def sentry(route: Any) -> None:
            network.envelopes.append(route.request.post_data or "")
            route.fulfill(status=200, headers=CORS, body="{}")

        def collector(route: Any) -> None:
            if route.request.method == "POST":
                network.otlp.append(json.loads(route.request.post_data or "{}"))
            route.fulfill(status=200, headers=CORS, body="{}")

        def cdn(route: Any) -> None:
            version = CDN.match(route.request.url)
            assert version is not None
            route.fulfill(status=200, content_type="text/javascript", body=_cdn_bundle(version[1]))

        page.route(live_server.url + path, document)
        page.route(SENTRY_INGEST, sentry)
        page.route(re.compile(r"^https://collector\.example\.com/"), collector)
        page.route(CDN, cdn)
        page.goto(live_server.url + path, wait_until="load")
        return page, network, rendered

    yield open_page
    for context in contexts:
        context.close()


def _wait(
    page: Any, found: Callable[[], list[Any]], what: str, network: Network, timeout: float = 15.0
) -> list[Any]:
    deadline = time.monotonic() + timeout
    while not (items := found()):
        assert time.monotonic() < deadline, (
            f"no {what} within {timeout} s; the page logged {network.console}, sent "
            f"{len(network.envelopes)} envelopes and {len(network.otlp)} span exports"
        )
        page.wait_for_timeout(100)  # Playwright answers the page's requests while it waits
    return items


def _page_load_of(network: Network, page: Any) -> dict[str, Any]:
    """The page load's trace id and parent span id, as the SDK sent them."""
    [pageload] = _wait(page, network.pageloads, "page load", network)
    return pageload


@pytest.mark.parametrize("language, code", blocks())
def test_each_snippet_continues_the_servers_trace(
    open_page: Callable[..., tuple[Any, Network, dict[str, str]]], language: str, code: str
) -> None:
    head = f"<script>{_esbuild(code)}</script>" if language == "js" else code
    page, network, rendered = open_page(head)
    if "DocumentLoadInstrumentation" in code:
        traceparent = TRACEPARENT_RE.match(rendered["traceparent"])
        assert traceparent is not None
        [span] = _wait(
            page,
            lambda: [s for s in network.spans() if s["name"] == "documentLoad"],
            "documentLoad span",
            network,
        )
        assert (span["traceId"], span["parentSpanId"]) == (
            traceparent["trace"],
            traceparent["span"],
        )
        return
    tag = SENTRY_TRACE_RE.match(rendered["sentry-trace"])
    assert tag is not None
    trace = _page_load_of(network, page)
    assert (trace["trace_id"], trace["parent_span_id"]) == (tag["trace"], tag["span"])
    if "tracePropagationTargets" in code:
        # A request of the page's to its own API carries the page load's trace on.
        sent: dict[str, str] = {}

        def downstream(route: Any) -> None:
            sent.update(route.request.headers)
            route.continue_()

        page.route("**/downstream/", downstream)
        page.evaluate("() => fetch('/downstream/').then(r => r.json())")
        assert sent["sentry-trace"].startswith(f"{tag['trace']}-")
        assert f"sentry-trace_id={tag['trace']}" in sent["baggage"].split(",")


@pytest.mark.parametrize("host, secure", [("127.0.0.1", True), ("metatrace.test", False)])
def test_server_timing_reaches_the_page_over_plain_http_in_chromium(
    chromium_browser: Any, live_server: Any, server_settings: Any, host: str, secure: bool
) -> None:
    # A page without tags: the trace is in its Server-Timing only. Some browsers hide it from
    # pages that are not a secure context; Chromium gives it to a plain-HTTP page too.
    code = next(param.values[1] for param in blocks() if param.values[0] == "js")
    url = live_server.url.replace("localhost", host).replace("127.0.0.1", host)
    url += "/plain/without-tags/"
    # A second browser of the same Playwright, which resolves metatrace.test to this machine.
    browser = chromium_browser.browser_type.launch(
        executable_path=shutil.which("chromium"),
        args=[*CHROMIUM_ARGS, "--host-resolver-rules=MAP metatrace.test 127.0.0.1"],
        headless=True,
    )
    try:
        page = browser.new_page()
        network = Network()
        # As the page's first script (a fulfilled route would make any page a secure context).
        page.add_init_script(_esbuild(code))

        def sentry(route: Any) -> None:
            network.envelopes.append(route.request.post_data or "")
            route.fulfill(status=200, headers=CORS, body="{}")

        page.route(SENTRY_INGEST, sentry)
        response = page.goto(url, wait_until="load")
        assert response is not None
        assert page.evaluate("() => window.isSecureContext") is secure
        timing = re.search(
            r'sentry-trace;desc="([0-9a-f]{32})-([0-9a-f]{16})', response.headers["server-timing"]
        )
        assert timing is not None
        trace = _page_load_of(network, page)
    finally:
        browser.close()
    assert (trace["trace_id"], trace["parent_span_id"]) == timing.groups()
