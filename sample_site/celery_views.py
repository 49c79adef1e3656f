"""The Celery page: queues a task that renders an email, and shows the trace it continued."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

import metatrace


def celery_page(request: HttpRequest) -> HttpResponse:
    trace = metatrace.current_trace()
    context: dict[str, Any] = {"title": "Celery task", "page_span_id": trace.span_id}
    try:
        # Imported here: the rest of the site works without Celery installed.
        from celery.exceptions import TimeoutError as ResultTimeout  # type: ignore[import-untyped]

        from .celery import BROKER, BROKER_COMMAND, WORKER_COMMAND, broker_error
        from .tasks import render_email
    except ImportError as missing:
        context["problem"] = "celery"
        context["error"] = str(missing)
        return render(request, "sample/celery.html", context)
    context.update(broker=BROKER, broker_command=BROKER_COMMAND, worker_command=WORKER_COMMAND)
    down = broker_error()
    if down is not None:
        context["problem"] = "broker"
        context["error"] = down
        return render(request, "sample/celery.html", context)
    queued = render_email.apply_async(("reader@example.com",), retry=False)
    try:
        # How long to wait for a worker before saying how to start one.
        result = queued.get(timeout=getattr(settings, "SAMPLE_CELERY_WAIT", 5.0))
    except ResultTimeout:
        context["problem"] = "worker"
    else:
        context["task"] = result
        context["continued"] = (
            result["trace_id"] == trace.trace_id and result["parent_span_id"] == trace.span_id
        )
    finally:
        queued.forget()
    return render(request, "sample/celery.html", context)
