"""metatrace/celery.py: the trace goes through a real Redis broker to a real worker process.

The fixtures start redis-server (Debian's) on a free 127.0.0.1 port and a Celery worker
(`--pool=solo`) running tests/celery_app.py, and stop both afterwards. The signal handlers are
tested at their edges too.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from bs4 import BeautifulSoup
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.test import Client, RequestFactory

import metatrace
import metatrace.celery
from metatrace.middleware import TraceMiddleware
from tests.conftest import (
    INCOMING_SPAN,
    INCOMING_TRACE,
    SENTRY_TRACE,
    decode_baggage,
    parse_trace_meta,
    split_sentry_trace,
)

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 30  # seconds for any one task result
DSC = f"sentry-trace_id={INCOMING_TRACE},sentry-public_key=abc,sentry-sample_rand=0.25"
HEADERS = {
    "HTTP_SENTRY_TRACE": f"{INCOMING_TRACE}-{INCOMING_SPAN}-1",
    "HTTP_BAGGAGE": f"{DSC},sentry-release=r%201,vendor=v1",
}


def _missing(what: str) -> None:
    message = f"{what}; the Celery tests need it (.ci/run installs it)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


def _start_redis(workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    """A private redis-server on a free port, without persistence, answering PING."""
    executable = shutil.which("redis-server")
    if executable is None:
        _missing("redis-server is not installed (apt-get install -y redis-server)")
    try:
        import redis
    except ImportError:
        _missing("the redis package is not installed (pip install 'metatrace-html[celery]')")
    port = _free_port()
    server = subprocess.Popen(
        [
            *(str(executable), "--port", str(port), "--bind", "127.0.0.1"),
            *("--save", "", "--appendonly", "no", "--dir", str(workdir), "--loglevel", "warning"),
        ],
        stdout=subprocess.DEVNULL,
    )
    client = redis.Redis(host="127.0.0.1", port=port, socket_timeout=1)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            if time.monotonic() > deadline or server.poll() is not None:
                _stop(server)
                raise
            time.sleep(0.05)
    client.close()
    return server, f"redis://127.0.0.1:{port}/0"


def _start_worker(app: str, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), **env}
    for name in ("SENTRY_TRACE", "SENTRY_BAGGAGE"):
        env.pop(name, None)
    with log.open("wb") as output:
        return subprocess.Popen(
            [
                *(sys.executable, "-m", "celery", "-A", app, "worker"),
                *("--pool=solo", "--loglevel=WARNING", "--without-gossip", "--without-mingle"),
                *("--without-heartbeat", "--hostname", f"{app}-{os.getpid()}@%h"),
            ],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server, url = _start_redis(tmp_path_factory.mktemp("redis"))
    try:
        yield url
    finally:
        _stop(server)


@pytest.fixture(scope="module")
def worker(broker: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A real `celery worker` process for tests/celery_app.py; yields that module."""
    try:
        from tests import celery_app
    except ImportError:
        _missing("Celery is not installed (pip install 'metatrace-html[celery]')")
    celery_app.app.conf.update(broker_url=broker, result_backend=broker)
    log = tmp_path_factory.mktemp("celery") / "worker.log"
    process = _start_worker("tests.celery_app", {"METATRACE_TEST_BROKER": broker}, log)
    try:
        try:
            assert celery_app.ping.delay().get(timeout=TIMEOUT) == "pong"
        except Exception:
            pytest.fail(f"the Celery worker did not answer; its log:\n{log.read_text()}")
        yield celery_app
    finally:
        _stop(process)
        celery_app.app.pool.force_close_all()


def _in_request(view: Any, headers: dict[str, str] = HEADERS) -> dict[str, Any]:
    """Runs `view` as a real request through metatrace's Django middleware; returns its JSON,
    plus the request's own span id."""
    import json

    def wrapped(request: HttpRequest) -> HttpResponse:
        data = view()
        data["request_span_id"] = request.metatrace.span_id  # type: ignore[attr-defined]
        return JsonResponse(data)

    response = TraceMiddleware(wrapped)(RequestFactory().get("/", **headers))
    assert metatrace.get_active() is None
    result: dict[str, Any] = json.loads(response.content)
    return result


def _keys(baggage: str) -> list[str]:
    return [member.partition("=")[0] for member in baggage.split(",")]


def test_task_queued_in_a_request_continues_its_trace(worker: Any) -> None:
    sent = _in_request(lambda: {"id": worker.render_report.delay("Monthly report").id})
    result = worker.app.AsyncResult(sent["id"]).get(timeout=TIMEOUT)
    # The worker's span is a child of the request's span, in the same trace.
    assert result["trace_id"] == INCOMING_TRACE
    assert result["parent_span_id"] == sent["request_span_id"]
    tags = parse_trace_meta(result["html"])
    trace_id, span_id, flag = split_sentry_trace(tags["sentry-trace"])
    assert (trace_id, span_id, flag) == (INCOMING_TRACE, result["span_id"], "1")
    assert decode_baggage(tags["baggage"])["release"] == "r 1"
    # Both places of the message carried the same headers.
    top, nested = result["baggage"]
    assert top == nested == f"{DSC},sentry-release=r%201,vendor=v1"


def test_a_chain_of_two_tasks_continues_the_trace(worker: Any) -> None:
    chain = worker.render_report.s("first") | worker.follow_up.s()
    sent = _in_request(lambda: {"id": chain.delay().id})
    second = worker.app.AsyncResult(sent["id"]).get(timeout=TIMEOUT)
    first = second["previous"]
    assert first["parent_span_id"] == sent["request_span_id"]
    # The first task's worker published the second one, from inside the first one's trace.
    assert second["parent_span_id"] == first["span_id"]
    for result in (first, second):
        assert parse_trace_meta(result["html"])["sentry-trace"].startswith(INCOMING_TRACE)
        assert result["baggage"][0] == f"{DSC},sentry-release=r%201,vendor=v1"


def test_retries_never_grow_the_baggage(worker: Any) -> None:
    sent = _in_request(lambda: {"id": worker.flaky.delay(4, []).id})
    attempts = worker.app.AsyncResult(sent["id"]).get(timeout=TIMEOUT)
    assert len(attempts) == 4
    expected = f"{DSC},sentry-release=r%201,vendor=v1"
    for attempt in attempts:
        assert attempt["trace_id"] == INCOMING_TRACE
        top, nested = attempt["baggage"]
        assert top == nested == expected
        assert len(_keys(top)) == len(set(_keys(top)))
    # Each retry is published by the attempt before it, so it is that attempt's child.
    parents = [attempt["parent_span_id"] for attempt in attempts]
    assert parents == [sent["request_span_id"]] + [a["span_id"] for a in attempts[:-1]]


def test_a_failing_task_restores_the_workers_context(worker: Any) -> None:
    with metatrace.trace_scope({"sentry-trace": HEADERS["HTTP_SENTRY_TRACE"]}):
        failed = worker.fail.delay()
        with pytest.raises(ValueError, match="on purpose"):
            failed.get(timeout=TIMEOUT)
        assert worker.left_active.delay().get(timeout=TIMEOUT) == "None"


class _Recorder(BaseHTTPRequestHandler):
    received: list[dict[str, str | None]]

    def do_GET(self) -> None:
        self.received.append({"sentry-trace": self.headers.get("sentry-trace")})
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_the_worker_passes_the_trace_on_to_another_service(worker: Any) -> None:
    received: list[dict[str, str | None]] = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), type("H", (_Recorder,), {"received": received}))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/notify"
        sent = _in_request(lambda: {"id": worker.render_report.delay("mail", url).id})
        result = worker.app.AsyncResult(sent["id"]).get(timeout=TIMEOUT)
    finally:
        server.shutdown()
        server.server_close()
    assert received[0]["sentry-trace"] == f"{INCOMING_TRACE}-{result['span_id']}-1"


def _celery_page(headers: dict[str, str] = HEADERS) -> tuple[str, str]:
    """The sample site's Celery page, through the real middleware; (html, the page's span id)."""
    from sample_site.celery_views import celery_page

    seen: list[str] = []

    def view(request: HttpRequest) -> HttpResponse:
        seen.append(request.metatrace.span_id)  # type: ignore[attr-defined]
        return celery_page(request)

    response = TraceMiddleware(view)(RequestFactory().get("/celery/", **headers))
    assert response.status_code == 200
    return response.content.decode(), seen[0]


def _text(html: str, element_id: str) -> str:
    element = BeautifulSoup(html, "html.parser").find(id=element_id)
    assert element is not None, f"no #{element_id} in the page"
    return str(element.get_text())


def test_sample_site_celery_page(tmp_path: Path, settings: Any, client: Client) -> None:
    """With a worker, the page shows the task's continued trace; without one, or without a
    broker, it says how to start them, and the other pages keep working."""
    settings.SAMPLE_CELERY_WAIT = 2.0
    try:
        from sample_site import celery as sample_celery
    except ImportError:
        _missing("Celery is not installed (pip install 'metatrace-html[celery]')")
    server, url = _start_redis(tmp_path)
    process: subprocess.Popen[bytes] | None = None
    try:
        sample_celery.app.conf.update(broker_url=url, result_backend=url)
        log = tmp_path / "worker.log"
        env = {"SAMPLE_CELERY_BROKER": url, "DJANGO_SETTINGS_MODULE": "sample_site.settings"}
        process = _start_worker("sample_site", env, log)
        deadline = time.monotonic() + TIMEOUT
        while not sample_celery.app.control.ping(timeout=0.5):
            if time.monotonic() > deadline or process.poll() is not None:
                pytest.fail(f"the sample site's worker did not start; its log:\n{log.read_text()}")

        html, page_span_id = _celery_page()
        assert _text(html, "celery-verdict").startswith("Same trace")
        assert "the worker continued it" in _text(html, "celery-intro")
        assert _text(html, "task-parent-span-id") == page_span_id
        email = parse_trace_meta(_text(html, "task-html"))
        assert split_sentry_trace(email["sentry-trace"])[0] == INCOMING_TRACE
        assert decode_baggage(email["baggage"])["release"] == "r 1"

        _stop(process)
        process = None
        html, _ = _celery_page()
        assert "no worker answered" in _text(html, "celery-problem")
        assert "no worker has taken it yet" in _text(html, "celery-intro")
        assert _text(html, "worker-command") == "make worker"

        _stop(server)
        html, _ = _celery_page()
        assert "is not running" in _text(html, "celery-problem")
        assert "could not queue it this time" in _text(html, "celery-intro")
        assert "queued" not in _text(html, "celery-intro")  # it says so only when it did
        assert "redis-server" in _text(html, "broker-command")
        assert client.get("/").status_code == 200
    finally:
        if process is not None:
            _stop(process)
        _stop(server)
        sample_celery.app.pool.force_close_all()


def test_an_eager_task_continues_the_callers_trace() -> None:
    # Eager tasks (task_always_eager, apply()) are never published, so no message carries the
    # trace: the task is a child of whatever trace called it.
    from tests import celery_app

    with metatrace.trace_scope({"sentry-trace": f"{INCOMING_TRACE}-{INCOMING_SPAN}-1"}) as caller:
        result = celery_app.render_report.apply(("eager",)).get()
        assert metatrace.get_active() is caller
    assert (result["trace_id"], result["parent_span_id"]) == (INCOMING_TRACE, caller.span_id)


# celery.py: the signal handlers at their edges ------------------------------------------------


@pytest.fixture
def celery_signals() -> Any:
    from celery import signals

    metatrace.celery.connect()
    yield signals
    metatrace.celery.connect()  # whatever a test did, the handlers stay connected


def test_a_protocol_1_message_without_headers_is_left_alone(celery_signals: Any) -> None:
    celery_signals.before_task_publish.send(sender="t", headers=None, body=("args",))
    assert metatrace.get_active() is None


def test_nested_headers_already_there_are_updated_in_place(celery_signals: Any) -> None:
    nested = {"custom": "kept", "sentry-trace": "stale"}
    headers: dict[str, Any] = {"headers": nested}
    with metatrace.trace_scope({"sentry-trace": SENTRY_TRACE}) as context:
        celery_signals.before_task_publish.send(sender="t", headers=headers)
    assert headers["headers"] is nested
    assert nested["custom"] == "kept"
    assert nested["sentry-trace"] == headers["sentry-trace"] == context.sentry_trace


def test_disconnected_handlers_add_nothing(celery_signals: Any) -> None:
    metatrace.celery.disconnect()
    headers: dict[str, Any] = {}
    celery_signals.before_task_publish.send(sender="t", headers=headers)
    assert headers == {}
    metatrace.celery.connect()
    celery_signals.before_task_publish.send(sender="t", headers=headers)
    assert set(headers) >= {"sentry-trace", "headers"}


def test_prerun_without_a_task_does_nothing(celery_signals: Any) -> None:
    celery_signals.task_prerun.send(sender=None, task_id=None, task=None)
    celery_signals.task_postrun.send(sender=None, task_id=None)
    celery_signals.task_postrun.send(sender=None, task_id="never-started")
    assert metatrace.get_active() is None


def test_a_published_task_without_a_trace_starts_its_own(celery_signals: Any) -> None:
    from tests import celery_app

    task = celery_app.render_report
    task.push_request(headers={"unrelated": "1"}, is_eager=False)
    try:
        celery_signals.task_prerun.send(sender=task, task_id="t1", task=task)
        context = metatrace.get_active()
        assert context is not None and not context.continued
        celery_signals.task_postrun.send(sender=task, task_id="t1")
    finally:
        task.pop_request()
    assert metatrace.get_active() is None


def test_top_level_headers_count_when_the_nested_ones_carry_no_trace(
    celery_signals: Any,
) -> None:
    from tests import celery_app

    task = celery_app.render_report
    task.push_request(headers={"unrelated": "1"}, **{"sentry-trace": SENTRY_TRACE})
    try:
        celery_signals.task_prerun.send(sender=task, task_id="t2", task=task)
        context = metatrace.get_active()
        assert context is not None
        assert (context.trace_id, context.parent_span_id) == (INCOMING_TRACE, INCOMING_SPAN)
        celery_signals.task_postrun.send(sender=task, task_id="t2")
    finally:
        task.pop_request()
