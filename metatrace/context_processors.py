from __future__ import annotations

from django.http import HttpRequest

from .templating import LazyTraceMeta, lazy_trace_meta


def trace_meta(request: HttpRequest) -> dict[str, LazyTraceMeta]:
    """Adds `trace_meta`, rendered only when a template prints (or calls) it."""
    return {"trace_meta": lazy_trace_meta}
