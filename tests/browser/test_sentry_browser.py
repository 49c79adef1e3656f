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
    Bundle,
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
@pytest.mark.parametrize("incoming", [None, "deferred", "sampled"])
def test_a_trace_without_a_dsc_goes_to_the_browser_only_if_it_fills_in_its_own(
    load_page: LoadPage, bundle: Bundle, path: str, incoming: str | None
) -> None:
    # No key on the server, and no DSC came in (a trace it starts; a sentry-trace without
    # baggage). @sentry/browser 11.12 and earlier would freeze an empty DSC and send no public
    # key: the page has no Sentry tags, and the browser starts a trace of its own. 11.17 and
    # later make a DSC from their own client: the page hands the trace over.
    headers = {}
    if incoming is not None:
        headers["sentry-trace"] = sentry_trace(sampled=True if incoming == "sampled" else None)
    loaded = load_page(path, headers=headers)
    assert loaded.meta.all("baggage") == []
    loaded.flush()
    [transaction] = loaded.pageload_transactions()
    trace = transaction["contexts"]["trace"]
    dsc = transaction["envelopeTrace"]
    assert dsc.get("public_key") == BROWSER_PUBLIC_KEY, dsc
    assert dsc.get("trace_id") == trace["trace_id"], dsc
    if not bundle.fills_dsc:
        assert loaded.meta.all("sentry-trace") == []
        assert trace.get("parent_span_id") is None
        assert _panel_line(loaded).startswith(
            f"The browser started a trace of its own ({trace['trace_id']}): the page has no "
            "sentry-trace tag to continue."
        )
        return
    tag = loaded.meta.sentry_trace()
    assert (trace["trace_id"], trace["parent_span_id"]) == (tag["trace"], tag["span"])
    if incoming is not None:
        assert tag["trace"] == INCOMING_TRACE_ID
    assert dsc.get("sampled") == "true"


@pytest.mark.parametrize("setting", ["11.17.0", None])
def test_the_setting_that_disagrees_with_the_browser_is_what_the_rule_prevents(
    load_page: LoadPage, sample_settings: Any, bundle: Bundle, setting: str | None
) -> None:
    # The evidence for both sides of the rule: a server told the wrong release. Told 11.17
    # while 11.12 runs, the page's sentry-trace without baggage makes the browser send an
    # empty DSC. Told nothing while 11.17 runs, the browser starts a trace of its own.
    if (setting is not None) == bundle.fills_dsc:
        return  # the setting agrees with the bundle: the test above covers it
    sample_settings.METATRACE = {**sample_settings.METATRACE, "SENTRY_BROWSER_VERSION": setting}
    loaded = load_page("/", headers={"sentry-trace": sentry_trace(sampled=True)})
    loaded.flush()
    [transaction] = loaded.pageload_transactions()
    trace = transaction["contexts"]["trace"]
    if setting is not None:
        assert trace["trace_id"] == INCOMING_TRACE_ID
        # The frozen empty DSC: no public key, no trace id (11.12 adds only a sample_rand).
        sent = transaction["envelopeTrace"] or {}
        assert "public_key" not in sent and "trace_id" not in sent, sent
    else:
        assert trace["trace_id"] != INCOMING_TRACE_ID
        assert transaction["envelopeTrace"]["public_key"] == BROWSER_PUBLIC_KEY


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
