"""Fixtures for the end-to-end tests in real Chromium.

The Django sample site is served by pytest-django's ``live_server`` (static files included, through
``django.contrib.staticfiles``). The page loads ``/static/sample/browser.js``, built from
``frontend/src/browser.js``: it runs the Sentry browser SDK (and, when asked, OpenTelemetry's
document-load instrumentation) with in-page transports, so nothing leaves the machine and every
envelope and span can be read back from ``window.__metatraceSample``.

Requirements: Chromium on PATH (``apt-get install -y chromium``), the Python package ``playwright``
(no browser download needed: we launch the system Chromium) and the built bundle
(``make frontend``, i.e. ``cd frontend && npm ci && npm run build``). When one is missing the tests
are skipped, except under CI (env var ``CI`` set), where they fail.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

from metatrace._core.config import BROWSER_FILLS_DSC, parse_version

REPO_ROOT = Path(__file__).resolve().parents[2]
HOW_TO_FIX = "install Chromium: apt-get install -y chromium; build the bundles: make frontend"


@dataclass(frozen=True)
class Bundle:
    """A build of frontend/src/browser.js: with the readers the sample site pins
    (frontend/package.json), the oldest release of their supported major (frontend/oldest/), or
    the newest (frontend/newest/; under `make newest`, npm's latest: see LATEST)."""

    name: str
    folder: Path  # where its node_modules are
    static: str  # its path under /static/

    @property
    def file(self) -> Path:
        return REPO_ROOT / "sample_site" / "static" / self.static

    def version(self, package: str) -> str:
        manifest = self.folder / "node_modules" / package / "package.json"
        return str(json.loads(manifest.read_text(encoding="utf-8"))["version"])

    @property
    def sentry_version(self) -> str:
        return self.version("@sentry/browser")

    @property
    def fills_dsc(self) -> bool:
        """Whether its @sentry/browser continues a sentry-trace without baggage with a DSC
        of its own (11.17 and later) instead of freezing an empty one."""
        return parse_version(self.sentry_version) >= BROWSER_FILLS_DSC  # type: ignore[operator]


BUNDLES = {
    "oldest": Bundle("oldest", REPO_ROOT / "frontend" / "oldest", "sample/browser-oldest.js"),
    "pinned": Bundle("pinned", REPO_ROOT / "frontend", "sample/browser.js"),
    "newest": Bundle("newest", REPO_ROOT / "frontend" / "newest", "sample/browser-newest.js"),
}
# `make newest` (tools/newest.py) names its readers at npm's latest: they are the newest.
LATEST = os.environ.get("METATRACE_LATEST_READERS")
if LATEST:
    BUNDLES["newest"] = Bundle("newest", Path(LATEST), "sample/browser-latest.js")

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

PAGES = ["/", "/jinja/", "/context/"]

# The browser SDK's DSN (what SAMPLE_BROWSER["DSN"] renders into the page config). Its public key
# differs from every key the server or the "client" uses, so tests can tell whose DSC won.
BROWSER_PUBLIC_KEY = "b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0"
BROWSER_DSN = f"https://{BROWSER_PUBLIC_KEY}@o1.ingest.example.invalid/1"
SERVER_PUBLIC_KEY = "5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e"
SERVER_DSN = f"https://{SERVER_PUBLIC_KEY}@o1.ingest.example.invalid/2"
CLIENT_PUBLIC_KEY = "c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1"

# An upstream service's trace, as it would arrive in request headers.
INCOMING_TRACE_ID = "771a43a4192642f0b136d5159a501701"
INCOMING_SPAN_ID = "b0e6f15b45c36b12"

SENTRY_TRACE_RE = re.compile(
    r"^(?P<trace>[0-9a-f]{32})-(?P<span>[0-9a-f]{16})(?:-(?P<sampled>[01]))?$"
)
TRACEPARENT_RE = re.compile(
    r"^00-(?P<trace>[0-9a-f]{32})-(?P<span>[0-9a-f]{16})-(?P<flags>[0-9a-f]{2})$"
)


def _unavailable(reason: str) -> None:
    message = f"{reason}. To run the browser tests, {HOW_TO_FIX}"
    if os.environ.get("CI"):
        pytest.fail(f"CI is set, so browser tests must run: {message}", pytrace=False)
    pytest.skip(message)


def esbuild(source: str, project: Path, *options: str, timeout: float = 120) -> str:
    """`source` bundled for the browser (an IIFE), its imports resolved from the npm project
    `project` (frontend/, frontend/readers/), with esbuild's other `options`."""
    binary = project / "node_modules" / ".bin" / "esbuild"
    if not binary.exists():
        where = project.relative_to(REPO_ROOT)
        _unavailable(f"{where}/node_modules is not installed (make test installs it)")
    result = subprocess.run(
        [
            str(binary),
            "--bundle",
            "--format=iife",
            "--target=es2020",
            "--log-level=error",
            *options,
        ],
        input=source,
        cwd=project,  # stdin's imports resolve from here
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


# ------------------------------------------------------------------------------------------------
# Header builders and page readers
# ------------------------------------------------------------------------------------------------


def sentry_trace(
    trace_id: str = INCOMING_TRACE_ID, span_id: str = INCOMING_SPAN_ID, sampled: bool | None = True
) -> str:
    flag = "" if sampled is None else ("-1" if sampled else "-0")
    return f"{trace_id}-{span_id}{flag}"


def incoming_baggage(
    trace_id: str = INCOMING_TRACE_ID,
    sampled: bool = True,
    sample_rand: str = "0.5",
    extra: str = "",
) -> str:
    members = [
        f"sentry-trace_id={trace_id}",
        f"sentry-public_key={CLIENT_PUBLIC_KEY}",
        "sentry-sample_rate=1",
        f"sentry-sampled={'true' if sampled else 'false'}",
        f"sentry-sample_rand={sample_rand}",
        "sentry-release=client%401.2.3",
        "sentry-environment=upstream",
        "third-party=keep-me-out-of-the-meta-tag",
    ]
    if extra:
        members.append(extra)
    return ",".join(members)


def decode_sentry_baggage(content: str) -> dict[str, str]:
    """The sentry- members of a baggage value as a DSC dict, decoded like the browser SDK does.

    The SDK uses decodeURIComponent, which (unlike unquote_plus) leaves "+" alone.
    """
    dsc: dict[str, str] = {}
    for member in content.split(","):
        key_value = member.split(";", 1)[0]
        if "=" not in key_value:
            continue
        key, value = (part.strip() for part in key_value.split("=", 1))
        if key.startswith("sentry-"):
            dsc[key[len("sentry-") :]] = unquote(value)
    return dsc


def normalize_dsc(dsc: Mapping[str, Any]) -> dict[str, Any]:
    """Compare sample_rand/sample_rate as numbers.

    On continuation the SDK re-serializes sample_rand with JS Number#toString ("0.250000" becomes
    "0.25"); every other field must match byte for byte.
    """
    out: dict[str, Any] = dict(dsc)
    for key in ("sample_rand", "sample_rate"):
        if key in out:
            out[key] = float(out[key])
    return out


@dataclass
class HeadMeta:
    """The <meta> tags in the live DOM's <head>, by name."""

    tags: list[dict[str, str]]

    def all(self, name: str) -> list[str]:
        return [tag["content"] for tag in self.tags if tag["name"] == name]

    def one(self, name: str) -> str:
        values = self.all(name)
        assert len(values) == 1, (
            f"expected exactly one <meta name={name!r}>, got {values!r} in {self.tags!r}"
        )
        return values[0]

    def sentry_trace(self) -> re.Match[str]:
        content = self.one("sentry-trace")
        match = SENTRY_TRACE_RE.match(content)
        assert match, f"malformed sentry-trace meta content: {content!r}"
        return match

    def traceparent(self) -> re.Match[str]:
        content = self.one("traceparent")
        match = TRACEPARENT_RE.match(content)
        assert match, f"malformed traceparent meta content: {content!r}"
        return match

    def baggage_dsc(self) -> dict[str, str] | None:
        values = self.all("baggage")
        assert len(values) <= 1, f"more than one <meta name='baggage'>: {values!r}"
        return decode_sentry_baggage(values[0]) if values else None


@dataclass
class LoadedPage:
    page: Any  # playwright.sync_api.Page
    response_status: int
    html: str
    meta: HeadMeta
    dialogs: list[str] = field(default_factory=list)

    def state(self, expression: str) -> Any:
        return self.page.evaluate(f"() => window.__metatraceSample.{expression}")

    def flush(self) -> int:
        """End the pageload span now and wait for Sentry to hand every envelope to the transport."""
        return int(self.page.evaluate("() => window.__metatraceSample.flush()"))

    def transactions(self) -> list[dict[str, Any]]:
        return list(self.state("transactions()"))

    def pageload_transactions(self) -> list[dict[str, Any]]:
        return [
            tx
            for tx in self.transactions()
            if tx.get("contexts", {}).get("trace", {}).get("op") == "pageload"
        ]

    def wait_for_otel_span(self, name: str, timeout_ms: float = 10_000) -> dict[str, Any]:
        self.page.wait_for_function(
            "name => window.__metatraceSample.otelSpans.some(s => s.name === name)",
            arg=name,
            timeout=timeout_ms,
        )
        spans = [span for span in self.state("otelSpans") if span["name"] == name]
        assert len(spans) == 1, spans
        return dict(spans[0])


# The `load_page` fixture's type: load_page(path, headers=...) -> LoadedPage.
LoadPage = Callable[..., LoadedPage]


# ------------------------------------------------------------------------------------------------
# Fixtures
# ------------------------------------------------------------------------------------------------


# Package scope: Playwright's sync API keeps an event loop running in the main thread, which
# would break the asyncio tests outside tests/browser/ if the browser lived for the session.
@pytest.fixture(scope="package", params=list(BUNDLES))
def bundle(request: pytest.FixtureRequest) -> Bundle:
    """Each browser test runs with the oldest, the sample site's and the newest readers."""
    found = BUNDLES[request.param]
    if not found.file.is_file():
        _unavailable(f"the browser bundle {found.file.relative_to(REPO_ROOT)} is not built")
    return found


@pytest.fixture(scope="package")
def chromium_browser() -> Iterator[Any]:
    executable = shutil.which("chromium")
    if executable is None:
        _unavailable("Chromium is not on PATH")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the Python package playwright is not installed (pip install -e '.[dev]')")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def sample_settings(settings: Any, bundle: Bundle) -> Any:
    """A known configuration: browser SDK on with sample rate 1, no OTel, server has no DSN, no
    W3C; the server knows which @sentry/browser the pages load, as a site should say."""
    settings.SAMPLE_BROWSER = {
        "DSN": BROWSER_DSN,
        "TRACES_SAMPLE_RATE": 1.0,
        "OTEL": False,
        "BUNDLE": bundle.static,
    }
    metatrace = dict(getattr(settings, "METATRACE", None) or {})
    metatrace.pop("DSN", None)
    metatrace["W3C"] = False
    metatrace["SENTRY_BROWSER_VERSION"] = bundle.sentry_version
    settings.METATRACE = metatrace
    return settings


@pytest.fixture
def load_page(
    chromium_browser: Any, live_server: Any, sample_settings: Any
) -> Iterator[Callable[..., LoadedPage]]:
    """load_page(path, headers=None) -> LoadedPage, in a fresh browser context per call."""
    contexts: list[Any] = []

    def load(path: str, headers: Mapping[str, str] | None = None) -> LoadedPage:
        context = chromium_browser.new_context(extra_http_headers=dict(headers or {}))
        contexts.append(context)
        page = context.new_page()
        dialogs: list[str] = []
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        response = page.goto(live_server.url + path, wait_until="load")
        assert response is not None, f"no response for {path}"
        html = response.text()
        assert response.status == 200, f"GET {path} -> {response.status}\n{html[:2000]}"
        # The bundle must have run: otherwise every "no transaction" assertion would be vacuous.
        page.wait_for_function("() => window.__metatraceSample !== undefined", timeout=10_000)
        state = page.evaluate(
            "() => ({ready: window.__metatraceSample.ready, errors: window.__metatraceSample.errors})"
        )
        assert state["ready"] is True and state["errors"] == [], (
            f"browser bundle did not start on {path}: {state!r}; is /static/sample/browser.js served and "
            f"#browser-config valid JSON?"
        )
        tags = page.evaluate(
            """() => Array.from(document.head.querySelectorAll('meta[name]'))
                     .map(m => ({name: m.getAttribute('name'), content: m.getAttribute('content')}))"""
        )
        return LoadedPage(
            page=page,
            response_status=response.status,
            html=html,
            meta=HeadMeta(tags),
            dialogs=dialogs,
        )

    yield load
    for context in contexts:
        context.close()


def assert_pageload_continues_page(loaded: LoadedPage) -> dict[str, Any]:
    """Exactly one pageload transaction, child of the span in the page's sentry-trace tag."""
    loaded.flush()
    transactions = loaded.pageload_transactions()
    assert len(transactions) == 1, (
        f"expected one pageload transaction, got {json.dumps(loaded.transactions())[:2000]}"
    )
    transaction = transactions[0]
    tag = loaded.meta.sentry_trace()
    trace_context = transaction["contexts"]["trace"]
    assert trace_context["trace_id"] == tag["trace"]
    assert trace_context["parent_span_id"] == tag["span"]
    assert trace_context["span_id"] != tag["span"]
    # What the page shows a human.
    assert (
        loaded.page.evaluate("() => document.documentElement.dataset.browserTraceId")
        == tag["trace"]
    )
    return transaction
