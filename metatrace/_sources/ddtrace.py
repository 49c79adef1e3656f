"""dd-trace-py as the source (named; "auto" never picks it): the root span of its trace, the
request's under its Django integration, with traceparent always and Datadog RUM's tags."""

from __future__ import annotations

import sys
from time import time_ns
from typing import Any

from markupsafe import Markup

from .._core.config import Config
from .._core.context import Rendered, SpanContext, TraceContext
from .tracers import module, not_recording, request_baggage

DDTRACE = "ddtrace"  # the source's name, and the module's

# Why it records nothing, and the fix.
_DISABLED = (
    "dd-trace-py is disabled (DD_TRACE_ENABLED is false). Enable it, or set SOURCE to 'metatrace'."
)
_UNPATCHED = (
    "dd-trace-py's Django integration is not on. Start the server under `ddtrace-run`, or call "
    "ddtrace.patch(django=True) (or `import ddtrace.auto`) before Django loads."
)


def from_ddtrace() -> TraceContext | None:
    """The root span of dd-trace-py's current trace (the request's, under its Django
    integration), with its sampling decision taken, as its propagator would take it."""
    ddtrace = module(DDTRACE, required=True)
    tracer: Any = getattr(ddtrace, "tracer", None)
    if tracer is None or not tracer.enabled:  # DD_TRACE_ENABLED=false: a trace never sent
        not_recording(DDTRACE, _DISABLED)
        return None
    root = tracer.current_root_span()
    if root is None:
        django = sys.modules.get("django")
        if django is not None and not getattr(django, "_datadog_patch", False):
            not_recording(DDTRACE, _UNPATCHED)
        return None
    context = root.context
    if context.sampling_priority is None:
        tracer.sample(root)
    priority = context.sampling_priority
    trace_id = f"{root.trace_id:032x}"
    return DatadogContext(
        trace_id,
        f"{root.span_id:016x}",
        None if priority is None else priority > 0,
        request_baggage(trace_id),
        exact=False,
    )


class DatadogContext(SpanContext):
    """dd-trace-py's span: its page also carries `traceparent`, which Datadog's tracers and
    browser SDK read, and the tags that Datadog's browser RUM reads."""

    __slots__ = ()

    def _render_resolved(self, config: Config) -> Rendered:
        rendered = super()._render_resolved(config._replace(w3c=True))
        # The low 64 bits of the trace id in decimal, as Datadog's tracers write it, and the
        # time of rendering, after which Datadog RUM trusts the id two minutes.
        datadog = (
            f'<meta name="dd-trace-id" content="{int(self.trace_id[16:], 16)}">'
            f'<meta name="dd-trace-time" content="{time_ns() // 1_000_000}">'
        )
        return rendered._replace(config=config, tags=Markup(str(rendered.tags) + datadog))

    def headers(self) -> dict[str, str]:
        headers = super().headers()
        headers.setdefault("traceparent", self.traceparent)  # as on the page, W3C or not
        return headers
