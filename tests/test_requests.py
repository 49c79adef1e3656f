"""metatrace/requests.py: a requests session sends the trace to a real local server."""

from __future__ import annotations

import requests
from requests import PreparedRequest

import metatrace
import metatrace.requests
from metatrace.requests import TraceAdapter
from tests.recorder import DSC, INCOMING, _check


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


def test_a_request_without_a_url_is_left_alone() -> None:
    request = PreparedRequest()
    request.prepare_headers({"X": "1"})
    TraceAdapter().add_headers(request)
    assert dict(request.headers) == {"X": "1"}
    request.prepare_url("https://api.example/", None)
    TraceAdapter().add_headers(request)
    assert request.headers["sentry-trace"] == metatrace.get_traceparent()
