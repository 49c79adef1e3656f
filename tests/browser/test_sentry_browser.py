"""The Sentry browser SDK continues the trace that the server rendered into the page."""

from __future__ import annotations

from typing import Any

import pytest

from sample_site import settings as sample_site_settings

from .conftest import (
    BROWSER_PUBLIC_KEY,
    INCOMING_SPAN_ID,
    INCOMING_TRACE_ID,
    PAGES,
    SERVER_DSN,
    SERVER_PUBLIC_KEY,
    LoadedPage,
    LoadPage,
    assert_pageload_continues_page,
    incoming_baggage,
    normalize_dsc,
    sentry_trace,
)

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("path", PAGES)
def test_continued_sampled_trace(load_page: LoadPage, path: str) -> None:
    loaded = load_page(
        path,
        headers={
            "sentry-trace": sentry_trace(sampled=True),
            "baggage": incoming_baggage(sampled=True),
        },
    )
    tag = loaded.meta.sentry_trace()
    assert tag["trace"] == INCOMING_TRACE_ID
    assert tag["span"] != INCOMING_SPAN_ID, (
        "the server must render its own span id, not the caller's"
    )
    assert tag["sampled"] == "1"
    page_dsc = loaded.meta.baggage_dsc()
    assert page_dsc is not None, (
        "a continued trace with incoming baggage must render <meta name='baggage'>"
    )
    assert page_dsc["trace_id"] == INCOMING_TRACE_ID
    assert page_dsc["public_key"] == "c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1"

    transaction = assert_pageload_continues_page(loaded)

    assert transaction["contexts"]["trace"]["trace_id"] == INCOMING_TRACE_ID
    assert normalize_dsc(transaction["envelopeTrace"]) == normalize_dsc(page_dsc)
    assert _panel_line(loaded) == (
        f"The browser continues this page's trace: its pageload is in trace {INCOMING_TRACE_ID}, "
        f"a child of the server's span {tag['span']}. Its pageload transaction went to the "
        "in-page transport; nothing leaves the machine."
    )


def _panel_line(loaded: LoadedPage) -> str:
    """What the sample page's panel says about the browser's pageload."""
    return str(loaded.page.text_content("#browser-trace"))


@pytest.mark.parametrize("path", PAGES)
def test_the_sample_sites_defaults_show_the_hand_over(
    load_page: LoadPage, sample_settings: Any, path: str
) -> None:
    # `make run` as it comes: the server and the browser share the demo DSN, no trace comes in,
    # and the browser continues the trace that the server started.
    sample_settings.METATRACE = sample_site_settings.METATRACE
    sample_settings.SAMPLE_BROWSER = sample_site_settings.SAMPLE_BROWSER
    assert sample_site_settings.METATRACE["DSN"] == sample_site_settings.SAMPLE_BROWSER["DSN"]
    loaded = load_page(path)
    tag = loaded.meta.sentry_trace()
    transaction = assert_pageload_continues_page(loaded)
    assert normalize_dsc(transaction["envelopeTrace"]) == normalize_dsc(
        loaded.meta.baggage_dsc() or {}
    )
    assert _panel_line(loaded).startswith(
        f"The browser continues this page's trace: its pageload is in trace {tag['trace']}, "
        f"a child of the server's span {tag['span']}."
    )


@pytest.mark.parametrize("path", PAGES)
def test_continued_unsampled_trace_sends_no_transaction(load_page: LoadPage, path: str) -> None:
    loaded = load_page(
        path,
        headers={
            "sentry-trace": sentry_trace(sampled=False),
            "baggage": incoming_baggage(sampled=False),
        },
    )
    tag = loaded.meta.sentry_trace()
    assert tag["trace"] == INCOMING_TRACE_ID
    assert tag["sampled"] == "0"

    # The SDK did start a pageload span on the page's trace, and honoured the "-0"...
    pageload = loaded.state("pageload")
    assert pageload is not None, "Sentry started no pageload span"
    assert pageload["traceId"] == INCOMING_TRACE_ID
    assert pageload["parentSpanId"] == tag["span"]
    assert pageload["sampled"] is False
    # ...so once everything is flushed, no transaction went out.
    assert loaded.flush() == 0
    assert loaded.transactions() == []
    assert [
        item["header"]["type"]
        for envelope in loaded.state("envelopes")
        for item in envelope["items"]
        if item["header"]["type"] in ("transaction", "span")
    ] == []


@pytest.mark.parametrize("path", PAGES)
def test_server_started_trace_without_dsn_leaves_the_head_to_the_browser(
    load_page: LoadPage, path: str
) -> None:
    # @sentry/browser 11 freezes an empty DSC from a sentry-trace tag that comes without
    # baggage (propagationContextFromHeaders), and then sends no public key. So with no key of
    # its own the server renders no Sentry tags, and the browser starts the trace with its own.
    loaded = load_page(path)
    assert loaded.meta.all("sentry-trace") == []
    assert loaded.meta.all("baggage") == []
    loaded.flush()
    transactions = loaded.pageload_transactions()
    assert len(transactions) == 1, transactions
    trace = transactions[0]["contexts"]["trace"]
    dsc = transactions[0]["envelopeTrace"]
    assert dsc.get("public_key") == BROWSER_PUBLIC_KEY, dsc
    assert dsc.get("trace_id") == trace["trace_id"], dsc
    assert trace.get("parent_span_id") is None
    assert _panel_line(loaded).startswith(
        f"The browser started a trace of its own ({trace['trace_id']}): the page has no "
        "sentry-trace tag to continue."
    )


@pytest.mark.parametrize("path", PAGES)
def test_incoming_baggage_without_sample_rand(load_page: LoadPage, path: str) -> None:
    baggage = ",".join(
        member
        for member in incoming_baggage(sampled=True).split(",")
        if not member.startswith("sentry-sample_rand=")
    )
    loaded = load_page(
        path, headers={"sentry-trace": sentry_trace(sampled=True), "baggage": baggage}
    )
    page_dsc = loaded.meta.baggage_dsc()
    assert page_dsc is not None
    transaction = assert_pageload_continues_page(loaded)
    assert normalize_dsc(transaction["envelopeTrace"]) == normalize_dsc(page_dsc)


@pytest.mark.parametrize("path", PAGES)
def test_server_started_trace_with_server_dsn(
    load_page: LoadPage, sample_settings: Any, path: str
) -> None:
    sample_settings.METATRACE = {
        **sample_settings.METATRACE,
        "DSN": SERVER_DSN,
        "TRACES_SAMPLE_RATE": 1.0,
        "RELEASE": "sample-site@1.0 <&>",
        "ENVIRONMENT": "browser-tests",
    }
    loaded = load_page(path)
    tag = loaded.meta.sentry_trace()
    assert tag["sampled"] == "1", "traces_sample_rate 1.0 on the server must render a sampled trace"
    page_dsc = loaded.meta.baggage_dsc()
    assert page_dsc is not None
    assert page_dsc["trace_id"] == tag["trace"]
    assert page_dsc["public_key"] == SERVER_PUBLIC_KEY
    assert page_dsc["release"] == "sample-site@1.0 <&>"
    assert page_dsc["environment"] == "browser-tests"

    transaction = assert_pageload_continues_page(loaded)

    assert normalize_dsc(transaction["envelopeTrace"]) == normalize_dsc(page_dsc)
