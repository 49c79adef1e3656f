from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from bs4 import BeautifulSoup

import metatrace
from metatrace._core import active as active_module
from metatrace._core import config as config_module
from metatrace._pages import responses


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under mutmut (which sets MUTANT_UNDER_TEST), the tests come in no particular order;
    keep each module's tests together, so that module-scoped fixtures such as the Celery
    worker are set up once. A stable sort: the order within a module stays."""
    if "MUTANT_UNDER_TEST" in os.environ:
        items.sort(key=lambda item: item.nodeid.partition("::")[0])


# The public vectors (copied as they are) and rows of our own; see conformance/README.md.
CONFORMANCE = Path(__file__).parent / "conformance"
TRACE_NAMES = ("sentry-trace", "baggage", "traceparent")
# The sample pages that render the tags (the Celery page renders them too, but needs Redis).
SAMPLE_PAGES = ["/", "/jinja/", "/context/", "/outgoing/"]

INCOMING_TRACE = "771a43a4192642f0b136d5159a501700"
INCOMING_SPAN = "b7ad6b7169203331"
SENTRY_TRACE = f"{INCOMING_TRACE}-{INCOMING_SPAN}-1"


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    """Run `code` in a fresh interpreter: for checks on what gets imported or configured."""
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)


def load_conformance(name: str) -> list[dict[str, Any]]:
    """The rows of `name` from the public vectors, then our own."""
    rows: list[dict[str, Any]] = []
    for folder in ("public", "own"):
        rows += json.loads((CONFORMANCE / folder / name).read_text(encoding="utf-8"))
    return rows


@pytest.fixture(autouse=True)
def _isolated_trace_state() -> Iterator[None]:
    """Each test starts with no active trace and the plain default configuration (not the
    sample site's METATRACE: see `django_config`), and leaves none."""
    saved = config_module.configured
    token = active_module._active.set(None)
    metatrace.configure(dsn=None, release=None, environment=None)
    yield
    active_module._active.reset(token)
    config_module.configured = saved


@pytest.fixture
def django_config() -> None:
    """Configure the core from the Django settings (METATRACE), as AppConfig.ready() does."""
    from metatrace.conf import apply_settings

    apply_settings()


@pytest.fixture
def _warnings_given_anew() -> Iterator[None]:
    # Each warning is given once per place and process: each test sees its own.
    saved = set(responses._warned)
    responses._warned.clear()
    yield
    responses._warned.clear()
    responses._warned.update(saved)


@pytest.fixture
def transactional_db() -> None:
    """The sample site has no database. pytest-django's live_server asks for transactional_db,
    whose teardown would flush the database and fail on Django's dummy backend."""


# A local server that records the trace headers it receives (tests/recorder.py), for the tests
# of the outgoing clients: tests/test_outgoing.py, tests/test_requests.py, tests/test_httpx.py.


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, list[dict[str, list[str]]]]]:
    from tests.recorder import Recorder  # it imports this module

    received: list[dict[str, list[str]]] = []
    handler = type("Handler", (Recorder,), {"received": received})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/", received
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def url(server: tuple[str, list[dict[str, list[str]]]]) -> str:
    server[1].clear()
    return server[0]


@pytest.fixture
def received(server: tuple[str, list[dict[str, list[str]]]]) -> list[dict[str, list[str]]]:
    return server[1]


def trace_meta_elements(html: str) -> list[Any]:
    """Every <meta> naming a trace field, anywhere in the document."""
    soup = BeautifulSoup(html, "html.parser")
    return [m for m in soup.find_all("meta") if m.get("name") in TRACE_NAMES]


def parse_trace_meta(html: str) -> dict[str, str]:
    """The trace tags, checked for structure: each at most once, only name and content."""
    elements = trace_meta_elements(html)
    names = [element["name"] for element in elements]
    assert len(names) == len(set(names)), f"duplicate trace meta tags: {names}"
    for element in elements:
        assert set(element.attrs) == {"name", "content"}, element.attrs
    return {element["name"]: element["content"] for element in elements}


def split_sentry_trace(value: str) -> tuple[str, str, str | None]:
    trace_id, span_id, *rest = value.split("-")
    assert len(trace_id) == 32 and len(span_id) == 16 and len(rest) <= 1, value
    return trace_id, span_id, rest[0] if rest else None


def decode_baggage(value: str) -> dict[str, str]:
    """The sentry items of a rendered baggage value, decoded the way a browser SDK does
    (keys too: decodeURIComponent on both)."""
    items = {}
    for member in value.split(","):
        key, _, raw = member.partition("=")
        key = unquote(key, errors="strict")
        assert key.startswith("sentry-"), member
        items[key.removeprefix("sentry-")] = unquote(raw, errors="strict")
    return items


def encodable(value: str) -> bool:
    """Whether `value` is text that UTF-8 can carry (no lone surrogates)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
