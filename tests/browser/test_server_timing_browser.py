"""@sentry/browser continues the server's trace from the navigation's Server-Timing alone.

The page renders no trace meta tags at all; the SDK (browserTracingIntegration, 10.39 and later)
falls back to the `sentry-trace` and `baggage` entries of the document's own Server-Timing
(`performance.getEntriesByType("navigation")[0].serverTiming`), which Chromium exposes to the
same-origin document in a secure context (127.0.0.1 counts as one).
"""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import (
    INCOMING_SPAN_ID,
    INCOMING_TRACE_ID,
    SENTRY_TRACE_RE,
    SERVER_DSN,
    SERVER_PUBLIC_KEY,
    LoadedPage,
    LoadPage,
    decode_sentry_baggage,
    incoming_baggage,
    normalize_dsc,
    sentry_trace,
)

pytestmark = pytest.mark.browser

BARE = "/r/bare/"  # the sample site's layout with no {% trace_meta %}


@pytest.fixture
def bare_site(sample_settings: Any) -> Any:
    sample_settings.ROOT_URLCONF = "tests.responses_urls"
    return sample_settings


def server_timing(loaded: LoadedPage) -> dict[str, str]:
    """The navigation's Server-Timing entries as the browser parsed them: name -> description."""
    entries = loaded.page.evaluate(
        """() => performance.getEntriesByType('navigation')[0].serverTiming
                 .map(e => ({name: e.name, description: e.description}))"""
    )
    return {entry["name"]: entry["description"] for entry in entries}


def only_pageload(loaded: LoadedPage) -> dict[str, Any]:
    loaded.flush()
    transactions = loaded.pageload_transactions()
    assert len(transactions) == 1, transactions
    return transactions[0]


def test_a_page_without_tags_continues_the_incoming_trace(
    load_page: LoadPage, bare_site: Any
) -> None:
    loaded = load_page(
        BARE,
        headers={"sentry-trace": sentry_trace(sampled=True), "baggage": incoming_baggage()},
    )
    assert loaded.meta.all("sentry-trace") == [] and loaded.meta.all("baggage") == []
    entries = server_timing(loaded)
    header = SENTRY_TRACE_RE.match(entries["sentry-trace"])
    assert header is not None
    assert header["trace"] == INCOMING_TRACE_ID
    assert header["span"] != INCOMING_SPAN_ID  # the server's own span

    transaction = only_pageload(loaded)
    trace = transaction["contexts"]["trace"]
    assert trace["trace_id"] == INCOMING_TRACE_ID
    assert trace["parent_span_id"] == header["span"]
    # The DSC the browser sends is the one in the baggage entry: the upstream client's.
    dsc = decode_sentry_baggage(entries["baggage"])
    assert dsc["public_key"] == "c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1"
    assert normalize_dsc(transaction["envelopeTrace"]) == normalize_dsc(dsc)


def test_a_page_without_tags_continues_a_trace_the_server_started(
    load_page: LoadPage, bare_site: Any
) -> None:
    bare_site.METATRACE = {**bare_site.METATRACE, "DSN": SERVER_DSN}
    loaded = load_page(BARE)
    assert loaded.meta.all("sentry-trace") == []
    entries = server_timing(loaded)
    header = SENTRY_TRACE_RE.match(entries["sentry-trace"])
    assert header is not None

    transaction = only_pageload(loaded)
    trace = transaction["contexts"]["trace"]
    assert trace["trace_id"] == header["trace"]
    assert trace["parent_span_id"] == header["span"]
    dsc = decode_sentry_baggage(entries["baggage"])
    assert dsc["public_key"] == SERVER_PUBLIC_KEY and dsc["trace_id"] == header["trace"]
    assert normalize_dsc(transaction["envelopeTrace"]) == normalize_dsc(dsc)


def test_without_server_timing_the_browser_starts_its_own_trace(
    load_page: LoadPage, bare_site: Any
) -> None:
    """The control: with the setting off, nothing reaches the SDK, so the tests above show
    what Server-Timing carries."""
    bare_site.METATRACE = {**bare_site.METATRACE, "SERVER_TIMING": False}
    loaded = load_page(
        BARE, headers={"sentry-trace": sentry_trace(), "baggage": incoming_baggage()}
    )
    assert server_timing(loaded) == {}
    transaction = only_pageload(loaded)
    assert transaction["contexts"]["trace"]["trace_id"] != INCOMING_TRACE_ID
    assert "parent_span_id" not in transaction["contexts"]["trace"]
