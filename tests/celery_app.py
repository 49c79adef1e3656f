"""The Celery app that tests/test_celery.py runs in a real worker, against a real Redis."""

from __future__ import annotations

import os
from typing import Any

import requests
from celery import Celery, Task, signals
from jinja2 import DictLoader, Environment

import metatrace
import metatrace.celery
import metatrace.requests
from metatrace.jinja import TraceMetaExtension

BROKER = os.environ.get("METATRACE_TEST_BROKER", "memory://")

app = Celery(
    "metatrace_tests", broker=BROKER, backend=BROKER.replace("memory://", "cache+memory://")
)
app.conf.update(
    accept_content=["json"],
    task_serializer="json",
    result_serializer="json",
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
)
metatrace.celery.connect()

templates = Environment(
    loader=DictLoader(
        {"report.html": "<html><head>{{ trace_meta() }}</head><body>{{ title }}</body></html>"}
    ),
    extensions=[TraceMetaExtension],
    autoescape=True,
)
session = metatrace.requests.instrument(requests.Session())


def _trace(task: Task) -> dict[str, Any]:
    """The worker's view of the task: its trace, and the headers its message brought."""
    trace = metatrace.get_active()
    assert trace is not None
    return {
        "trace_id": trace.trace_id,
        "span_id": trace.span_id,
        "parent_span_id": trace.parent_span_id,
        "baggage": [
            getattr(task.request, "baggage", None),
            (task.request.headers or {}).get("baggage"),
        ],
    }


@app.task
def ping() -> str:
    return "pong"


@app.task(bind=True)
def render_report(self: Task, title: str, notify: str | None = None) -> dict[str, Any]:
    """Renders an HTML report with trace_meta() and, given a URL, tells another service."""
    html = templates.get_template("report.html").render(title=title)
    if notify:
        session.get(notify, timeout=5)
    return {"html": html, **_trace(self)}


@app.task(bind=True)
def follow_up(self: Task, previous: dict[str, Any]) -> dict[str, Any]:
    """The second link of a chain: the first one's worker published it."""
    html = templates.get_template("report.html").render(title="follow-up")
    return {"previous": previous, "html": html, **_trace(self)}


@app.task(bind=True, max_retries=5)
def flaky(self: Task, attempts: int, seen: list[Any]) -> list[Any]:
    """Retries until it has run `attempts` times; returns what each attempt received."""
    seen = [*seen, _trace(self)]
    if len(seen) < attempts:
        raise self.retry(args=(attempts, seen), countdown=0)
    return seen


@app.task
def fail() -> None:
    raise ValueError("this task fails on purpose")


# What was active once the last task's postrun handlers had run (connected after metatrace's).
_after_last_task: list[str | None] = [None]


@signals.task_postrun.connect(weak=False)
def _record(**_: Any) -> None:
    _after_last_task[0] = repr(metatrace.get_active())


@app.task
def left_active() -> str | None:
    """What the previous task left active in this worker: None if it restored the context."""
    return _after_last_task[0]
