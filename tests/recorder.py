"""A local server that records the trace headers it receives, for the outgoing clients."""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler
from typing import Any

import metatrace
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
