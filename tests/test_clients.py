"""Outgoing clients: requests and httpx (sync and async) send the trace to a real local server."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
import requests

import metatrace
import metatrace.httpx
import metatrace.requests
from metatrace.outgoing import inject, merge_baggage, should_propagate
from tests.conftest import INCOMING_SPAN, INCOMING_TRACE, split_sentry_trace

DSC = f"sentry-trace_id={INCOMING_TRACE},sentry-public_key=abc,sentry-sample_rand=0.25"
INCOMING = {
    "sentry-trace": f"{INCOMING_TRACE}-{INCOMING_SPAN}-1",
    "baggage": f"{DSC},vendor=v1,shared=in",
}
NAMES = ("sentry-trace", "baggage", "traceparent")


class Recorder(BaseHTTPRequestHandler):
    """Records every value of the trace headers of each request it receives."""

    received: list[dict[str, list[str]]]

    def do_GET(self) -> None:
        self.received.append({name: self.headers.get_all(name) or [] for name in NAMES})
        if self.path.startswith("/redirect/"):  # /redirect/<host:port>: off to another host
            self.send_response(302)
            self.send_header("Location", f"http://{self.path.removeprefix('/redirect/')}/")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = b"ok"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, list[dict[str, list[str]]]]]:
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


def _keys(baggage: str) -> list[str]:
    return [member.partition("=")[0] for member in baggage.split(",")]


def _check(got: dict[str, list[str]], trace: metatrace.TraceContext) -> str:
    """One of each header, carrying the active trace; returns the baggage."""
    assert len(got["sentry-trace"]) == 1 and len(got["baggage"]) == 1, got
    trace_id, span_id, flag = split_sentry_trace(got["sentry-trace"][0])
    assert (trace_id, span_id, flag) == (INCOMING_TRACE, trace.span_id, "1")
    baggage = got["baggage"][0]
    assert len(_keys(baggage)) == len(set(_keys(baggage))), baggage
    return baggage


def test_requests_session(url: str, received: list[dict[str, list[str]]]) -> None:
    session = metatrace.requests.instrument(requests.Session())
    with metatrace.trace_scope(INCOMING) as trace:
        assert session.get(url, timeout=5).status_code == 200
    baggage = _check(received[0], trace)
    assert baggage == f"{DSC},vendor=v1,shared=in"


def test_requests_merges_existing_baggage(url: str, received: list[dict[str, list[str]]]) -> None:
    session = metatrace.requests.instrument(requests.Session())
    stale = "sentry-trace_id=0123456789abcdef0123456789abcdef,shared=mine,user=42"
    with metatrace.trace_scope(INCOMING) as trace:
        session.get(url, headers={"Baggage": stale, "sentry-trace": "x"}, timeout=5)
    baggage = _check(received[0], trace)
    # Sentry items from the active trace; the caller's members kept and winning over ours.
    assert baggage == (f"{DSC},vendor=v1,shared=mine,user=42")


def test_requests_instrument_keeps_the_retry_policy() -> None:
    session = requests.Session()
    session.mount("https://", requests.adapters.HTTPAdapter(max_retries=3))
    metatrace.requests.instrument(metatrace.requests.instrument(session))
    adapter = session.get_adapter("https://example.com/")
    assert isinstance(adapter, metatrace.requests.TraceAdapter)
    assert adapter.max_retries.total == 3


def test_requests_outside_a_trace_starts_one(
    url: str, received: list[dict[str, list[str]]]
) -> None:
    session = metatrace.requests.instrument(requests.Session())
    session.get(url, timeout=5)
    trace = metatrace.get_active()
    assert trace is not None
    assert received[0]["sentry-trace"] == [trace.sentry_trace]


def test_httpx_client(url: str, received: list[dict[str, list[str]]]) -> None:
    with (
        httpx.Client(event_hooks={"request": [metatrace.httpx.request_hook]}) as client,
        metatrace.trace_scope(INCOMING) as trace,
    ):
        client.get(url, headers={"baggage": "user=42,vendor=v2"})
    assert _check(received[0], trace).endswith(",vendor=v2,shared=in,user=42")


@pytest.mark.asyncio
async def test_httpx_async_client(url: str, received: list[dict[str, list[str]]]) -> None:
    hooks = {"request": [metatrace.httpx.async_request_hook]}
    async with httpx.AsyncClient(event_hooks=hooks) as client:
        with metatrace.trace_scope(INCOMING) as trace:
            await client.get(url)
    _check(received[0], trace)


def test_w3c_sends_traceparent(url: str, received: list[dict[str, list[str]]]) -> None:
    metatrace.configure(w3c=True)
    with (
        httpx.Client(event_hooks={"request": [metatrace.httpx.request_hook]}) as client,
        metatrace.trace_scope(INCOMING) as trace,
    ):
        client.get(url, headers={"traceparent": "00-" + "1" * 32 + "-" + "2" * 16 + "-01"})
    assert received[0]["traceparent"] == [trace.traceparent]


def test_propagation_targets(url: str, received: list[dict[str, list[str]]]) -> None:
    metatrace.configure(propagation_targets=[r"^https://api\.example\.com/", "127.0.0.1:1/"])
    session = metatrace.requests.instrument(requests.Session())
    with httpx.Client(event_hooks={"request": [metatrace.httpx.request_hook]}) as client:
        session.get(url, headers={"baggage": "user=42"}, timeout=5)
        client.get(url)
    # Not a target: nothing added, and the caller's own baggage is left alone.
    assert received == [
        {"sentry-trace": [], "baggage": ["user=42"], "traceparent": []},
        {"sentry-trace": [], "baggage": [], "traceparent": []},
    ]
    metatrace.configure(propagation_targets=[r"127\.0\.0\.1"])
    session.get(url, timeout=5)
    assert len(received[2]["sentry-trace"]) == 1


@pytest.mark.parametrize(
    ("url", "targets", "expected"),
    [
        ("https://api.example.com/v1", None, True),
        ("https://api.example.com/v1", [], False),
        ("https://api.example.com/v1", ["api.example.com"], True),
        ("https://api.example.com/v1", [r"^https://api\.example\.com/"], True),
        ("https://evil.test/?https://api.example.com/", [r"^https://api\.example\.com/"], False),
        ("http://localhost:8000/x", ["localhost", "example"], True),
        ("https://cdn.example.org/", [r"^https://api\."], False),
    ],
)
def test_should_propagate(url: str, targets: list[str] | None, expected: bool) -> None:
    assert should_propagate(url, targets) is expected


def test_inject_into_a_plain_dict_merges_any_spelling() -> None:
    headers = {"BAGGAGE": "a=1", "Sentry-Trace": "old", "Accept": "text/html"}
    with metatrace.trace_scope(INCOMING) as trace:
        inject(headers)
    assert headers == {
        "Accept": "text/html",
        "sentry-trace": trace.sentry_trace,
        "baggage": f"{DSC},vendor=v1,shared=in,a=1",
    }


def test_merging_again_and_again_never_grows_the_baggage() -> None:
    with metatrace.trace_scope(INCOMING) as trace:
        baggage = trace.baggage
        for _ in range(50):
            baggage = merge_baggage(trace.baggage, baggage + ",extra=1")
    assert baggage == trace.baggage + ",extra=1"


def test_a_redirect_off_the_targets_takes_the_trace_back(
    url: str, received: list[dict[str, list[str]]]
) -> None:
    port = url.rstrip("/").rsplit(":", 1)[1]
    metatrace.configure(propagation_targets=[r"^http://127\.0\.0\.1:"])
    session = metatrace.requests.instrument(requests.Session())
    hooks = {"request": [metatrace.httpx.request_hook]}
    with metatrace.trace_scope(INCOMING), httpx.Client(event_hooks=hooks) as client:
        session.get(f"{url}redirect/localhost:{port}", headers={"baggage": "user=42"}, timeout=5)
        client.get(f"{url}redirect/localhost:{port}", follow_redirects=True)
    to_target, off_target = received[0], received[1]
    assert to_target["sentry-trace"] and "vendor=v1" in to_target["baggage"][0]
    # The redirected request left the targets: no trace, no received baggage, the caller's stays.
    assert off_target == {"sentry-trace": [], "baggage": ["user=42"], "traceparent": []}
    assert received[3] == {"sentry-trace": [], "baggage": [], "traceparent": []}
