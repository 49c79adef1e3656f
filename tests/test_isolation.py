"""Concurrent requests never see each other's trace: threads on a real server, asyncio tasks."""

from __future__ import annotations

import asyncio
import secrets
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.test import AsyncClient

import metatrace
from tests import urls
from tests.conftest import parse_trace_meta, split_sentry_trace

pytestmark = [pytest.mark.urls("tests.urls"), pytest.mark.usefixtures("django_config")]


def _fetch(url: str, trace_id: str | None) -> str | None:
    headers = {"sentry-trace": f"{trace_id}-{secrets.token_hex(8)}-1"} if trace_id else {}
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=20) as reply:
        tags = parse_trace_meta(reply.read().decode())
    return split_sentry_trace(tags["sentry-trace"])[0] if "sentry-trace" in tags else None


def test_two_overlapping_threaded_requests(live_server: Any) -> None:
    # The view waits at a barrier, so both requests are inside the middleware at once.
    urls.barrier.reset()
    ids = [secrets.token_hex(16), secrets.token_hex(16)]
    with ThreadPoolExecutor(2) as pool:
        seen = list(pool.map(lambda t: _fetch(f"{live_server.url}/t/barrier/", t), ids))
    assert seen == ids


def test_many_threaded_requests_with_and_without_traces(live_server: Any) -> None:
    ids = [secrets.token_hex(16) if i % 3 else None for i in range(120)]
    with ThreadPoolExecutor(12) as pool:
        seen = list(pool.map(lambda t: _fetch(f"{live_server.url}/t/tag/", t), ids))
    fresh = [got for sent, got in zip(ids, seen, strict=True) if sent is None]
    assert [got for sent, got in zip(ids, seen, strict=True) if sent is not None] == [
        sent for sent in ids if sent is not None
    ]
    # The sample site has a key: each request without a trace starts one of its own.
    assert None not in fresh and len(set(fresh)) == len(fresh) == 40
    assert not set(fresh) & set(ids)


@pytest.mark.asyncio
async def test_concurrent_async_requests() -> None:
    client = AsyncClient()
    ids = [secrets.token_hex(16) for _ in range(50)]

    async def one(trace_id: str) -> str:
        response = await client.get(
            "/t/async/", headers={"sentry-trace": f"{trace_id}-{secrets.token_hex(8)}-0"}
        )
        return split_sentry_trace(parse_trace_meta(response.content.decode())["sentry-trace"])[0]

    assert await asyncio.gather(*(one(trace_id) for trace_id in ids)) == ids
    assert metatrace.get_active() is None
