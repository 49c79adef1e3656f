"""metatrace/_sources/otel.py: the real OpenTelemetry SDK as the source, its request span pinned."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

import metatrace
from tests import tracers
from tests.conftest import INCOMING_SPAN, INCOMING_TRACE, decode_baggage, parse_trace_meta

pytestmark = [pytest.mark.urls("tests.urls"), pytest.mark.usefixtures("django_config")]


def test_current_otel_span_is_rendered() -> None:
    from opentelemetry import trace

    tracers.otel_exporter()
    metatrace.configure(public_key="abc", w3c=True)  # source "auto"
    with trace.get_tracer("tests").start_as_current_span("server") as span:
        context = span.get_span_context()
        tags = parse_trace_meta(metatrace.trace_meta())
    trace_id, span_id = f"{context.trace_id:032x}", f"{context.span_id:016x}"
    assert tags["traceparent"] == f"00-{trace_id}-{span_id}-01"
    assert tags["sentry-trace"] == f"{trace_id}-{span_id}-1"
    assert decode_baggage(tags["baggage"])["trace_id"] == trace_id
    # Outside the span, metatrace's own context is back.
    assert not parse_trace_meta(metatrace.trace_meta())["traceparent"].startswith(f"00-{trace_id}")


def test_unsampled_otel_span_renders_its_flag() -> None:
    from opentelemetry import trace
    from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

    metatrace.configure(public_key="abc", w3c=True, source="opentelemetry")
    remote = SpanContext(0xABC, 0xDEF, is_remote=True, trace_flags=TraceFlags(0))
    with trace.use_span(NonRecordingSpan(remote)):
        tags = parse_trace_meta(metatrace.trace_meta())
    assert tags["traceparent"] == f"00-{0xABC:032x}-{0xDEF:016x}-00"
    assert tags["sentry-trace"] == f"{0xABC:032x}-{0xDEF:016x}-0"


@pytest.mark.parametrize("source", ["auto", "opentelemetry"])
def test_page_carries_the_otel_server_span(settings: Any, source: str) -> None:
    settings.METATRACE = {**settings.METATRACE, "SOURCE": source, "W3C": True}
    incoming = {"traceparent": f"00-{INCOMING_TRACE}-{INCOMING_SPAN}-01"}
    with tracers.otel_django() as exporter:
        html = Client().get("/t/tag/", headers=incoming).content.decode()
        [server] = [s for s in exporter.get_finished_spans() if s.kind.name == "SERVER"]
    tags = parse_trace_meta(html)
    context = server.get_span_context()
    assert f"{context.trace_id:032x}" == INCOMING_TRACE  # OpenTelemetry continued the headers
    assert f"{server.parent.span_id:016x}" == INCOMING_SPAN
    assert tags["traceparent"] == f"00-{INCOMING_TRACE}-{context.span_id:016x}-01"


@pytest.mark.asyncio
async def test_an_async_request_names_the_otel_span_current_as_it_entered() -> None:
    # The async middleware pins the span as the sync one does, and unpins it on the way out.
    from django.test import AsyncClient
    from opentelemetry import trace

    tracers.otel_exporter()
    metatrace.configure(source="opentelemetry", public_key="abc", w3c=True)
    with trace.get_tracer("tests").start_as_current_span("server") as span:
        response = await AsyncClient().get("/t/async/")
        context = span.get_span_context()
    tags = parse_trace_meta(response.content.decode())
    assert tags["traceparent"] == f"00-{context.trace_id:032x}-{context.span_id:016x}-01"
