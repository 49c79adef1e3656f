"""metatrace/httpx.py: httpx's hooks (sync and async) send the trace to a real local server."""

from __future__ import annotations

import httpx
import pytest

import metatrace
import metatrace.httpx
from tests.recorder import INCOMING, _check


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
