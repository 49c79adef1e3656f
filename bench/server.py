"""Requests per second of the sample site under gunicorn, with metatrace and without.

Two servers (one sync worker each) run side by side on 127.0.0.1; the load generator hits
them in alternating rounds of fixed duration. wrk is used if installed, else a Python client.
"""

from __future__ import annotations

import http.client
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path

from .harness import Row
from .micro import BAGGAGE, SENTRY_TRACE

ROOT = Path(__file__).resolve().parent.parent
HEADERS = {"sentry-trace": SENTRY_TRACE, "baggage": BAGGAGE}
PAGE = "/"  # the function view with `{% trace_meta %}`
_PIN = shutil.which("taskset") is not None and (os.cpu_count() or 1) >= 2


def _pinned(cpu: int, command: Sequence[str]) -> list[str]:
    return ["taskset", "-c", str(cpu), *command] if _PIN else list(command)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _get(port: int, headers: dict[str, str] = HEADERS) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", PAGE, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


@contextmanager
def _server(settings: str) -> Iterator[int]:
    port = _free_port()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": settings, "DJANGO_DEBUG": "0"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    command = [sys.executable, "-m", "gunicorn", "--workers", "1", "--log-level", "warning"]
    process = subprocess.Popen(
        _pinned(0, [*command, "--bind", f"127.0.0.1:{port}", "sample_site.wsgi:application"]),
        cwd=ROOT,
        env=env,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                status, _ = _get(port)
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"gunicorn ({settings}) did not start") from None
                time.sleep(0.2)
        assert status == 200, status
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)


def _wrk(port: int, seconds: float, incoming: dict[str, str]) -> float:
    headers = [arg for name, value in incoming.items() for arg in ("-H", f"{name}: {value}")]
    command = ["wrk", "-t1", "-c2", f"-d{max(1, round(seconds))}s", *headers]
    out = subprocess.run(
        _pinned(1, [*command, f"http://127.0.0.1:{port}{PAGE}"]),
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 30,
    ).stdout
    if "Non-2xx" in out:
        raise RuntimeError(f"wrk saw errors:\n{out}")
    match = re.search(r"Requests/sec:\s*([\d.]+)", out)
    assert match is not None, out
    return float(match.group(1))


def _python_client(port: int, seconds: float, incoming: dict[str, str]) -> float:
    count, deadline = 0, time.perf_counter() + seconds
    started = time.perf_counter()
    while time.perf_counter() < deadline:
        status, _ = _get(port, incoming)
        assert status == 200, status
        count += 1
    return count / (time.perf_counter() - started)


# Requests per second may fall by at most 4% with metatrace: a time ratio of 1 / 0.96.
TARGET = 1 / 0.96


def bench_server(runs: int, rounds: int, seconds: float) -> list[Row]:
    """`runs` independent runs for each kind of request (a browser navigation that starts a
    trace, and a continued trace); each run is the median of `rounds` interleaved rounds.
    The row gives the median run and the spread of the runs."""
    load = _wrk if shutil.which("wrk") else _python_client
    kinds = {"started": {}, "continued": HEADERS}
    ratios: dict[str, list[float]] = {kind: [] for kind in kinds}
    rps: dict[str, list[tuple[float, float]]] = {kind: [] for kind in kinds}
    with ExitStack() as stack:
        ours = stack.enter_context(_server("sample_site.settings"))
        plain = stack.enter_context(_server("bench.server_settings"))
        page = _get(ours)[1].decode()
        assert SENTRY_TRACE[:32] in page and "8f3c2a19d04b7e61" not in page, page
        assert "8f3c2a19d04b7e61" in _get(plain)[1].decode()
        for port in (ours, plain):
            load(port, 2, HEADERS)  # warm-up
        for _ in range(runs):
            for kind, incoming in kinds.items():
                samples: dict[int, list[float]] = {ours: [], plain: []}
                for round_ in range(rounds):
                    for port in (ours, plain) if round_ % 2 == 0 else (plain, ours):
                        samples[port].append(load(port, seconds, incoming))
                pairs = zip(samples[ours], samples[plain], strict=True)
                ratios[kind].append(statistics.median(b / a for a, b in pairs))
                rps[kind].append(
                    (statistics.median(samples[ours]), statistics.median(samples[plain]))
                )
    rows = []
    for kind in kinds:
        run_ratios = ratios[kind]
        ratio = statistics.median(run_ratios)
        rps_ours, rps_plain = (statistics.median(pair[i] for pair in rps[kind]) for i in (0, 1))
        falls = ", ".join(f"{(1 - 1 / r) * 100:.1f}%" for r in sorted(run_ratios))
        note = (
            f"{load.__name__.strip('_')}: {rps_ours:.0f} vs {rps_plain:.0f} requests/s; "
            f"fall in requests/s, {runs} runs of {rounds} interleaved {seconds:.0f} s rounds "
            f"each: {falls} (median {(1 - 1 / ratio) * 100:.1f}%; below 0: faster)"
        )
        rows.append(
            Row(
                f"server rps, {kind} trace (gunicorn, 1 worker)",
                f"{1e6 / rps_ours:.1f}",
                f"{1e6 / rps_plain:.1f}",
                ratio,
                TARGET,
                note,
            )
        )
    return rows
