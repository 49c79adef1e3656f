"""Elastic's APM agent as the source (named; "auto" never picks it): its transaction, the
request's under its Django app, and the page-load values its RUM agent takes."""

from __future__ import annotations

import logging
import sys
from typing import Any

from .._core import config as configuration
from .._core import formats
from .._core.context import SpanContext, TraceContext
from .tracers import module, not_recording, request_baggage

logger = logging.getLogger("metatrace")

ELASTICAPM = "elasticapm"  # the source's name, and the module's
_TRACES = "elasticapm.traces"  # where the agent keeps the current transaction

# Why it records nothing, and the fix.
_NO_CLIENT = (
    "Elastic's agent is not running. Add 'elasticapm.contrib.django' to INSTALLED_APPS, with "
    "its ELASTIC_APM settings."
)
_DEBUG = (
    "Django's DEBUG is True, and Elastic's agent records nothing then unless its own DEBUG "
    "option is on. Set ELASTIC_APM['DEBUG'] = True, or DEBUG = False."
)


def from_elasticapm() -> TraceContext | None:
    """The Elastic APM agent's current transaction (the request's, under its Django app)."""
    transaction = _transaction()
    if transaction is None:
        return None
    trace_id = transaction.trace_parent.trace_id
    return SpanContext(
        trace_id, transaction.id, transaction.is_sampled, request_baggage(trace_id), exact=False
    )


def _transaction() -> Any:
    """The agent's transaction, if its ids are what they must be. The agent takes the trace
    id of an incoming `elastic-apm-traceparent` without checking it (6.26 rendered
    "<svg onload=...>" as one): such a trace is not rendered, and metatrace's own is."""
    elasticapm = module(ELASTICAPM, required=True)
    traces: Any = module(_TRACES, required=True)  # a lookup once it is imported, no import
    transaction = traces.execution_context.get_transaction()
    if transaction is None or transaction.trace_parent is None:
        _why_no_transaction(elasticapm)
        return None
    parent = transaction.trace_parent
    # The span id the agent hands the RUM agent is the incoming parent id, unchecked too.
    ids = (parent.trace_id, transaction.id, parent.span_id)
    if not all(map(formats.is_id, ids, (32, 16, 16))):
        logger.debug("metatrace: ignoring the Elastic APM transaction with ids %.200r", ids)
        return None
    return transaction


def _why_no_transaction(elasticapm: Any) -> None:
    """Warn when the agent records nothing at all (no transaction is also what a Celery task
    or a management command has, and that says nothing)."""
    client = elasticapm.get_client()
    if client is None:
        not_recording(ELASTICAPM, _NO_CLIENT)
        return
    django = sys.modules.get("django.conf")
    settings = getattr(django, "settings", None)
    debug = settings is not None and settings.configured and settings.DEBUG is True
    if debug and not getattr(client.config, "debug", False):
        not_recording(ELASTICAPM, _DEBUG)


def elastic_page_load_values() -> dict[str, Any] | None:
    """What Elastic's RUM agent takes in its init config to make the browser's page load part
    of the request's trace: the trace id, the id the server reserves for the browser's span
    of the document (it becomes the parent of the server's transaction, as Elastic's agents
    do it), and the sampling decision. None unless SOURCE is "elasticapm" and a transaction
    runs."""
    if (configuration.configured or configuration.get_config()).source != ELASTICAPM:
        return None
    transaction = _transaction()
    if transaction is None:
        return None
    return {
        "pageLoadTraceId": transaction.trace_parent.trace_id,
        "pageLoadSpanId": transaction.ensure_parent_id(),
        "pageLoadSampled": bool(transaction.is_sampled),
    }
