from __future__ import annotations

from django.http import HttpRequest

from ._pages.templating import LazyTraceMeta, lazy_trace_meta
from .conf import require_app


def trace_meta(request: HttpRequest) -> dict[str, LazyTraceMeta]:
    """Adds `trace_meta`, rendered only when a template prints (or calls) it."""
    require_app("metatrace.context_processors.trace_meta")
    return {"trace_meta": lazy_trace_meta}
