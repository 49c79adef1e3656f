"""Load against real servers on 127.0.0.1: 2,000 requests, 50 or more in flight, each with its
own incoming trace (or none). Every response must show exactly its own request's trace."""

from __future__ import annotations

import http.client
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.core.servers.basehttp import WSGIRequestHandler, WSGIServer

from tests.conftest import parse_trace_meta, split_sentry_trace

pytestmark = pytest.mark.usefixtures("django_config")

REQUESTS = 2000
IN_FLIGHT = 64


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class _ThreadedServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    request_queue_size = 256  # a backlog for 64 clients connecting at once


@pytest.fixture
def threaded_server() -> Iterator[str]:
    server = _ThreadedServer(("127.0.0.1", 0), _QuietHandler)
    server.set_app(WSGIHandler())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def uvicorn_server() -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    root = Path(__file__).parents[1]
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "DJANGO_DEBUG": "0"}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "tests.asgi:application",
            "--port",
            str(port),
            "--host",
            "127.0.0.1",
            "--log-level",
            "warning",
            "--backlog",
            "512",
        ],
        cwd=root,
        env=env,
    )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("uvicorn did not start")
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def _hammer(address: str, path: str) -> None:
    sent = [secrets.token_hex(16) if i % 4 else None for i in range(REQUESTS)]
    local = threading.local()

    def one(trace_id: str | None) -> tuple[str | None, dict[str, str]]:
        if not hasattr(local, "connection"):
            local.connection = http.client.HTTPConnection(address, timeout=30)
        headers = {"sentry-trace": f"{trace_id}-{secrets.token_hex(8)}-1"} if trace_id else {}
        local.connection.request("GET", path, headers=headers)
        reply = local.connection.getresponse()
        assert reply.status == 200
        return trace_id, parse_trace_meta(reply.read().decode())

    with ThreadPoolExecutor(IN_FLIGHT) as pool:
        results = list(pool.map(one, sent))
    sent_ids = {trace_id for trace_id in sent if trace_id}
    for trace_id, tags in results:
        if trace_id:
            assert split_sentry_trace(tags["sentry-trace"])[0] == trace_id
            assert tags["traceparent"][3:35] == trace_id
        else:
            # The sample site has a key: a fresh trace of its own, nobody else's.
            fresh = split_sentry_trace(tags["sentry-trace"])[0]
            assert fresh == tags["traceparent"][3:35] and fresh not in sent_ids


def test_threaded_wsgi_server(threaded_server: str) -> None:
    _hammer(threaded_server, "/t/tag/")


def test_uvicorn_with_async_views(uvicorn_server: str) -> None:
    _hammer(uvicorn_server, "/t/async/")
