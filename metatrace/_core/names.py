"""Every name metatrace reads or writes on the wire, spelled once: headers, environment
variables, Server-Timing entries, meta tags and the id of Elastic's script."""

from __future__ import annotations

from typing import Final

# The trace headers, lowercase, as HTTP, Celery and every reader spell them.
SENTRY_TRACE: Final = "sentry-trace"
BAGGAGE: Final = "baggage"
TRACEPARENT: Final = "traceparent"
TRACESTATE: Final = "tracestate"
# What outgoing calls carry, in this order (inject(), Celery's message headers).
PROPAGATED: Final = (SENTRY_TRACE, BAGGAGE, TRACEPARENT, TRACESTATE)

# The same four in a WSGI environ (Django's request.META), in PROPAGATED's order.
ENVIRON_KEYS: Final = tuple(f"HTTP_{name.upper().replace('-', '_')}" for name in PROPAGATED)
# The environment variables of a child process (Sentry's): sentry-trace and baggage.
ENV_SENTRY_TRACE: Final = "SENTRY_TRACE"
ENV_BAGGAGE: Final = "SENTRY_BAGGAGE"

# The prefix of the baggage members that carry Sentry's dynamic sampling context.
SENTRY_PREFIX: Final = "sentry-"

# Server-Timing entries. Metatrace's own three, always rendered (an app may time a metric of
# its own under another name); tracestate with TRACESTATE; W3C Trace Context Level 3's
# `trace` metric with TRACE_METRIC.
OWN_TIMING_ENTRIES: Final = (SENTRY_TRACE, BAGGAGE, TRACEPARENT)
TRACE_METRIC: Final = "trace"

# Datadog browser RUM's meta tags.
DD_TRACE_ID: Final = "dd-trace-id"
DD_TRACE_TIME: Final = "dd-trace-time"

# What a page hands the browser: the names of its trace meta tags and Server-Timing entries.
HANDOVER_NAMES: Final = (*PROPAGATED, TRACE_METRIC, DD_TRACE_ID, DD_TRACE_TIME)

# The id of the JSON script with Elastic RUM's page-load values (metatrace.elastic_page_load).
ELASTIC_SCRIPT_ID: Final = "elastic-apm-page-load"
