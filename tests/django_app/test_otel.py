"""metatrace/_django/otel.py: OpenTelemetry continues a request without its instrumentation."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from django.test import AsyncClient, Client

from tests import tracers
from tests.conftest import INCOMING_SPAN, INCOMING_TRACE, parse_trace_meta

OTEL_HEADERS = {"traceparent": f"00-{INCOMING_TRACE}-{INCOMING_SPAN}-01"}


@pytest.mark.urls("tests.urls")
def test_otel_source_continues_the_w3c_trace_in_an_async_request(settings: Any) -> None:
    tracers.otel_exporter()
    settings.METATRACE = {"SOURCE": "opentelemetry", "W3C": True}
    settings.MIDDLEWARE = ["metatrace.middleware.TraceMiddleware"]

    async def get() -> Any:
        return await AsyncClient().get("/t/tag/", headers=OTEL_HEADERS)

    response = asyncio.run(get())
    tags = parse_trace_meta(response.content.decode())
    assert tags["traceparent"].startswith(f"00-{INCOMING_TRACE}-")
    assert (
        tags["traceparent"].split("-")[2] == INCOMING_SPAN
    )  # OpenTelemetry's own span: the remote parent


@pytest.mark.urls("tests.urls")
def test_otel_source_leaves_a_current_server_span_alone(client: Client, settings: Any) -> None:
    settings.METATRACE = {"SOURCE": "opentelemetry", "W3C": True}
    with tracers.otel_django() as exporter:
        response = client.get("/t/tag/", headers=OTEL_HEADERS)
    tags = parse_trace_meta(response.content.decode())
    (server,) = [span for span in exporter.get_finished_spans() if span.kind.name == "SERVER"]
    assert tags["traceparent"] == f"00-{INCOMING_TRACE}-{server.context.span_id:016x}-01"


def test_otel_source_continues_w3c_headers_with_its_own_propagators(settings: Any) -> None:
    settings.METATRACE = {**settings.METATRACE, "SOURCE": "opentelemetry", "W3C": True}
    tracers.otel_exporter()
    incoming = {"traceparent": f"00-{INCOMING_TRACE}-{INCOMING_SPAN}-01"}
    values = Client().get("/t/propagation/", headers=incoming).json()
    assert parse_trace_meta(values["meta"])["traceparent"] == incoming["traceparent"]
