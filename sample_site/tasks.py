"""The sample site's Celery task: renders an HTML email in the trace of the page that queued it."""

from __future__ import annotations

from typing import Any

from django.template.loader import render_to_string

import metatrace

from .celery import app


@app.task  # type: ignore[untyped-decorator]  # Celery has no type hints
def render_email(recipient: str) -> dict[str, Any]:
    """Renders `sample/email.html` with Django's Jinja2 backend and `{{ trace_meta() }}`."""
    html = render_to_string("sample/email.html", {"recipient": recipient}, using="jinja2")
    trace = metatrace.get_active()
    assert trace is not None  # metatrace.celery continued the message's trace
    return {
        "html": html,
        "trace_id": trace.trace_id,
        "span_id": trace.span_id,
        "parent_span_id": trace.parent_span_id,
    }
