"""The browser SDKs continue the trace of the tracer the site runs: sentry-sdk's server
transaction, or OpenTelemetry's server span."""

from __future__ import annotations

from typing import Any

import pytest

from tests import tracers

from .conftest import (
    INCOMING_SPAN_ID,
    INCOMING_TRACE_ID,
    PAGES,
    LoadPage,
    assert_pageload_continues_page,
    incoming_baggage,
    normalize_dsc,
    sentry_trace,
)

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("path", PAGES)
def test_browser_continues_the_sentry_server_transaction(load_page: LoadPage, path: str) -> None:
    headers = {"sentry-trace": sentry_trace(sampled=True), "baggage": incoming_baggage()}
    with tracers.sentry() as roots:
        loaded = load_page(path, headers=headers)
        browser = assert_pageload_continues_page(loaded)
    # The page's root span (the transaction of sentry-sdk 2.x, the segment of 3.x), named
    # after its path; the static files the page loads get roots of their own.
    [server] = [root for root in roots if root["name"] == path]
    tag = loaded.meta.sentry_trace()
    assert server["trace_id"] == tag["trace"] == INCOMING_TRACE_ID
    # The browser's pageload hangs under the server's own root span.
    assert browser["contexts"]["trace"]["parent_span_id"] == server["span_id"]
    assert normalize_dsc(browser["envelopeTrace"]) == normalize_dsc(loaded.meta.baggage_dsc() or {})


@pytest.mark.parametrize("path", PAGES)
def test_browser_continues_the_otel_server_span(
    load_page: LoadPage, live_server: Any, sample_settings: Any, path: str
) -> None:
    sample_settings.METATRACE = {
        **sample_settings.METATRACE,
        "W3C": True,
        "SOURCE": "opentelemetry",
    }
    sample_settings.SAMPLE_BROWSER = {**sample_settings.SAMPLE_BROWSER, "OTEL": True}
    headers = {"traceparent": f"00-{INCOMING_TRACE_ID}-{INCOMING_SPAN_ID}-01"}
    with tracers.otel_django() as exporter:
        _reload_middleware(live_server)
        loaded = load_page(path, headers=headers)
        document_load = loaded.wait_for_otel_span("documentLoad")
        servers = [span for span in exporter.get_finished_spans() if span.kind.name == "SERVER"]
    _reload_middleware(live_server)  # without the instrumentation's middleware again
    server = servers[0]  # the page (static files are served outside Django's middleware)
    server_context = server.get_span_context()
    traceparent = loaded.meta.traceparent()
    assert traceparent["trace"] == f"{server_context.trace_id:032x}" == INCOMING_TRACE_ID
    assert traceparent["span"] == f"{server_context.span_id:016x}"
    assert document_load["traceId"] == INCOMING_TRACE_ID
    assert document_load["parentSpanId"] == traceparent["span"]


def _reload_middleware(live_server: Any) -> None:
    """The live server built its middleware chain at start; the instrumentation changed it."""
    live_server.thread.httpd.get_app().application.load_middleware()
