"""`make run`'s last step, tools/serve-sample: the sample site with the Redis server and the
Celery worker its Celery page needs, started with it and stopped with it."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=30) as response:
        return str(response.read().decode())


def test_the_sample_site_serves_every_page_with_its_celery_worker(tmp_path: Path) -> None:
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is not installed: make test installs it (tools/system-packages)")
    port, broker_port = _free_port(), _free_port()
    env = {
        **{name: value for name, value in os.environ.items() if not name.startswith("SENTRY_")},
        "SAMPLE_CELERY_BROKER": f"redis://127.0.0.1:{broker_port}/0",
        "PYTHONPATH": str(ROOT),
    }
    log = (tmp_path / "serve.log").open("w")
    process = subprocess.Popen(
        ["tools/serve-sample", str(Path(sys.executable).parent), str(port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # as a terminal's Ctrl-C reaches every process it started
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                home = _get(f"http://127.0.0.1:{port}/")
                break
            except OSError:
                assert process.poll() is None, (tmp_path / "serve.log").read_text()
                assert time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
                time.sleep(0.2)
        assert BeautifulSoup(home, "html.parser").find("meta", attrs={"name": "sentry-trace"})
        celery = BeautifulSoup(_get(f"http://127.0.0.1:{port}/celery/"), "html.parser")
        verdict = celery.find(id="celery-verdict")
        assert verdict is not None, (tmp_path / "serve.log").read_text()
        assert verdict.get_text() == "Same trace: the task is a child of this page's server span."
    finally:
        os.killpg(process.pid, signal.SIGINT)  # Ctrl-C
        process.wait(timeout=30)
    # The Redis server and the worker stopped with the site.
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", broker_port)) != 0
