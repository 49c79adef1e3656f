"""metatrace/outgoing.py: the propagation targets, and the headers merged and withdrawn."""

from __future__ import annotations

import httpx
import pytest
import requests

import metatrace
import metatrace.httpx
import metatrace.requests
from metatrace.outgoing import inject, merge_baggage, should_propagate
from tests.conftest import SENTRY_TRACE
from tests.recorder import DSC, INCOMING


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


def test_a_callers_own_trace_header_stays_for_a_host_outside_the_targets() -> None:
    metatrace.configure(propagation_targets=["^https://api\\."])
    headers = {"Sentry-Trace": SENTRY_TRACE, "traceparent": "00-x"}
    inject(headers, "https://elsewhere.example/")
    # Not ours, so not withdrawn: the caller set them for this call.
    assert headers == {"sentry-trace": SENTRY_TRACE, "traceparent": "00-x"}


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
