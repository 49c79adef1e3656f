"""The sample site's Celery app: `celery -A sample_site worker` finds it here.

The broker is Redis, at SAMPLE_CELERY_BROKER (default redis://127.0.0.1:6379/0); it also keeps
the results, so the page can show what the worker rendered.
"""

from __future__ import annotations

import os

from celery import Celery  # type: ignore[import-untyped]

import metatrace.celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sample_site.settings")

BROKER = os.environ.get("SAMPLE_CELERY_BROKER", "redis://127.0.0.1:6379/0")
WORKER_COMMAND = "make worker"  # from the repository root
BROKER_COMMAND = "apt-get install -y redis-server && redis-server --port 6379"

app = Celery("sample_site", broker=BROKER, backend=BROKER, include=["sample_site.tasks"])
app.conf.update(
    accept_content=["json"],
    task_serializer="json",
    result_serializer="json",
    result_expires=600,
    broker_connection_retry_on_startup=True,
)
# One call: queued tasks carry the page's trace, and the worker continues it.
metatrace.celery.connect()


def broker_error() -> str | None:
    """Why the broker cannot be reached, or None; it answers within about a second."""
    try:
        with app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, interval_start=0, timeout=1)
    except Exception as error:  # kombu raises a different error for each way a broker is down
        return str(error) or type(error).__name__
    return None
