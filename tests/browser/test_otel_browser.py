"""OpenTelemetry's document-load instrumentation continues the trace from <meta name="traceparent">."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import (
    INCOMING_SPAN_ID,
    INCOMING_TRACE_ID,
    PAGES,
    LoadedPage,
    LoadPage,
    assert_pageload_continues_page,
    incoming_baggage,
    sentry_trace,
)

pytestmark = pytest.mark.browser


@pytest.fixture
def otel_settings(sample_settings: Any) -> Any:
    sample_settings.METATRACE = {**sample_settings.METATRACE, "W3C": True}
    sample_settings.SAMPLE_BROWSER = {**sample_settings.SAMPLE_BROWSER, "OTEL": True}
    return sample_settings


def assert_document_load_continues_page(loaded: LoadedPage) -> dict[str, Any]:
    traceparent = loaded.meta.traceparent()
    if loaded.meta.all("sentry-trace"):  # none without a DSC, for a browser that freezes {}
        sentry = loaded.meta.sentry_trace()
        assert (traceparent["trace"], traceparent["span"]) == (sentry["trace"], sentry["span"]), (
            "traceparent and sentry-trace must describe the same server span"
        )
    span = loaded.wait_for_otel_span("documentLoad")
    assert span["traceId"] == traceparent["trace"]
    assert span["parentSpanId"] == traceparent["span"]
    assert span["sampled"] is True
    fetch = loaded.wait_for_otel_span("documentFetch")
    assert fetch["traceId"] == traceparent["trace"] and fetch["parentSpanId"] == span["spanId"]
    return span


@pytest.mark.parametrize("path", PAGES)
def test_document_load_continues_traceparent_tag(
    load_page: LoadPage, otel_settings: Any, path: str
) -> None:
    loaded = load_page(
        path,
        headers={
            "sentry-trace": sentry_trace(sampled=True),
            "baggage": incoming_baggage(sampled=True),
        },
    )
    assert loaded.meta.traceparent()["flags"] == "01"
    span = assert_document_load_continues_page(loaded)
    assert span["traceId"] == INCOMING_TRACE_ID
    # Sentry runs on the same page and continues the same server span.
    transaction = assert_pageload_continues_page(loaded)
    assert transaction["contexts"]["trace"]["trace_id"] == span["traceId"]


@pytest.mark.parametrize("path", PAGES)
def test_document_load_continues_incoming_traceparent_header(
    load_page: LoadPage, otel_settings: Any, path: str
) -> None:
    loaded = load_page(
        path, headers={"traceparent": f"00-{INCOMING_TRACE_ID}-{INCOMING_SPAN_ID}-01"}
    )
    traceparent = loaded.meta.traceparent()
    assert traceparent["trace"] == INCOMING_TRACE_ID
    assert traceparent["span"] != INCOMING_SPAN_ID
    assert_document_load_continues_page(loaded)


def test_no_traceparent_tag_without_w3c(load_page: LoadPage, sample_settings: Any) -> None:
    sample_settings.SAMPLE_BROWSER = {**sample_settings.SAMPLE_BROWSER, "OTEL": True}
    loaded = load_page("/", headers={"sentry-trace": sentry_trace(sampled=True)})
    assert loaded.meta.all("traceparent") == []
    # document-load then starts its own trace, unrelated to the server's.
    span = loaded.wait_for_otel_span("documentLoad")
    assert span["traceId"] != INCOMING_TRACE_ID
