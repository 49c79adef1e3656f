"""What the real browser readers make of metatrace's tags (docs/readers.md): OpenTelemetry web's
document-load instrumentation continues <meta name="traceparent"> whether or not the server
has a Sentry key, and @sentry/browser's pageload DSC is the one metatrace meant, even when
the incoming baggage tries to smuggle Sentry items in encoded keys."""

from __future__ import annotations

from typing import Any

import pytest

import metatrace

from .conftest import (
    INCOMING_SPAN_ID,
    INCOMING_TRACE_ID,
    Bundle,
    LoadedPage,
    LoadPage,
    assert_pageload_continues_page,
    incoming_baggage,
    normalize_dsc,
    sentry_trace,
)

pytestmark = pytest.mark.browser


@pytest.fixture
def otel_settings(sample_settings: Any) -> Any:
    """OpenTelemetry web on the page; the server has W3C on and no Sentry key."""
    sample_settings.SAMPLE_BROWSER = {**sample_settings.SAMPLE_BROWSER, "OTEL": True}
    return sample_settings


def _server(settings: Any, **options: Any) -> None:
    settings.METATRACE = {**settings.METATRACE, "W3C": True, **options}


def assert_document_load_continues_traceparent(loaded: LoadedPage) -> dict[str, Any]:
    traceparent = loaded.meta.traceparent()
    assert traceparent["flags"] == "01", "OpenTelemetry web would record nothing"
    span = loaded.wait_for_otel_span("documentLoad")
    assert (span["traceId"], span["parentSpanId"]) == (traceparent["trace"], traceparent["span"])
    assert span["sampled"] is True
    return span


@pytest.mark.parametrize("rate", [1.0, None])
def test_document_load_continues_a_trace_the_server_started_without_a_key(
    load_page: LoadPage, otel_settings: Any, bundle: Bundle, rate: float | None
) -> None:
    _server(otel_settings, TRACES_SAMPLE_RATE=rate)
    loaded = load_page("/")
    # No key: no baggage, and a sentry-trace only for a Sentry SDK that fills in its own DSC
    # (11.17 and later; an earlier one starts its own trace); traceparent either way.
    assert loaded.meta.all("baggage") == []
    assert len(loaded.meta.all("sentry-trace")) == (1 if bundle.fills_dsc else 0)
    span = assert_document_load_continues_traceparent(loaded)
    assert span["traceId"] != INCOMING_TRACE_ID


def test_document_load_continues_a_trace_the_server_continued_without_a_key(
    load_page: LoadPage, otel_settings: Any
) -> None:
    _server(otel_settings, TRACES_SAMPLE_RATE=None)
    # A deferred sentry-trace: no decision anywhere, so the traceparent tag says "may record".
    loaded = load_page("/", headers={"sentry-trace": sentry_trace(sampled=None)})
    span = assert_document_load_continues_traceparent(loaded)
    assert span["traceId"] == INCOMING_TRACE_ID
    assert span["parentSpanId"] != INCOMING_SPAN_ID  # the server's own span


def test_document_load_continues_traceparent_with_tracestate(
    load_page: LoadPage, otel_settings: Any
) -> None:
    _server(otel_settings)
    loaded = load_page(
        "/",
        headers={
            "traceparent": f"00-{INCOMING_TRACE_ID}-{INCOMING_SPAN_ID}-01",
            "tracestate": "congo=t61rcWkgMzE",
        },
    )
    assert loaded.meta.all("tracestate") == []  # OpenTelemetry web reads only traceparent
    span = assert_document_load_continues_traceparent(loaded)
    assert span["traceId"] == INCOMING_TRACE_ID


@pytest.mark.parametrize(
    "smuggled",
    [
        "sentry-environ%6Dent=evil,sentry-sample%5Frand=0.25",  # class 1: encoded Sentry keys
        "%73entry-release=evil%401.0,sentry%2Dsampled=true",  # class 2: encoded prefixes
    ],
)
def test_the_pageload_dsc_is_the_one_metatrace_meant(
    load_page: LoadPage, sample_settings: Any, smuggled: str
) -> None:
    headers = {
        "sentry-trace": sentry_trace(sampled=True),
        "baggage": incoming_baggage(sampled=True, extra=smuggled),
    }
    loaded = load_page("/", headers=headers)
    # What the server meant: the same headers, continued here under the same settings.
    meant = dict(metatrace.continue_trace(headers).dsc)
    assert meant["trace_id"] == INCOMING_TRACE_ID
    assert loaded.meta.baggage_dsc() == meant
    transaction = assert_pageload_continues_page(loaded)
    assert normalize_dsc(transaction["envelopeTrace"]) == normalize_dsc(meant)
