"""Hostile trace headers never break out of the meta tags, on any kind of page."""

from __future__ import annotations

from typing import Any

import pytest
from bs4 import BeautifulSoup

from .conftest import (
    INCOMING_SPAN_ID,
    INCOMING_TRACE_ID,
    PAGES,
    SERVER_DSN,
    LoadPage,
    assert_pageload_continues_page,
    normalize_dsc,
    sentry_trace,
)

pytestmark = pytest.mark.browser


VALID = sentry_trace(sampled=True)
TP = f"00-{INCOMING_TRACE_ID}-{INCOMING_SPAN_ID}-01"
IMG = '"><img src=x onerror=window.__pwned=1>'
SCRIPT = "</script><script>window.__pwned=1</script>"
HANDLER = 'x" autofocus onfocus="window.__pwned=1" onmouseover=\'window.__pwned=1\' y="'

# (id, headers, whether the valid trace in them should still be continued)
CASES: list[tuple[str, dict[str, str], bool]] = [
    ("sentry-trace-img", {"sentry-trace": VALID + IMG, "traceparent": TP + IMG}, False),
    ("sentry-trace-script", {"sentry-trace": SCRIPT + VALID, "traceparent": SCRIPT}, False),
    (
        "sentry-trace-quotes-handlers",
        {"sentry-trace": VALID + HANDLER, "traceparent": HANDLER},
        False,
    ),
    (
        "baggage-values",
        {
            "sentry-trace": VALID,
            "baggage": (
                f"sentry-trace_id={INCOMING_TRACE_ID},sentry-public_key=c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1,"
                f"sentry-sampled=true,sentry-sample_rand=0.5,sentry-sample_rate=1,"
                f"sentry-release={SCRIPT},sentry-environment={IMG},sentry-transaction={HANDLER}"
            ),
        },
        True,
    ),
    (
        "baggage-keys-and-structure",
        {
            "sentry-trace": VALID,
            "baggage": (
                f'sentry-trace_id={INCOMING_TRACE_ID},sentry-"><img src=x onerror=window.__pwned=1>=1,'
                f"sentry-public_key=c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1;{SCRIPT},{IMG}=1,"
                "sentry-release=%22%3E%3Cimg%20src%3Dx%20onerror%3Dwindow.__pwned%3D1%3E"
            ),
        },
        True,
    ),
]

ALLOWED_HEAD_META = {"sentry-trace", "baggage", "traceparent"}


@pytest.fixture
def w3c_on(sample_settings: Any) -> Any:
    # With a server key, a hostile header that starts a new trace still renders every tag.
    sample_settings.METATRACE = {
        **sample_settings.METATRACE,
        "W3C": True,
        "DSN": SERVER_DSN,
        "TRACES_SAMPLE_RATE": 1.0,
    }
    return sample_settings


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize(
    ("headers", "continued"), [case[1:] for case in CASES], ids=[case[0] for case in CASES]
)
def test_hostile_headers(
    load_page: LoadPage, w3c_on: Any, path: str, headers: dict[str, str], continued: bool
) -> None:
    loaded = load_page(path, headers=headers)
    page = loaded.page
    # Let any injected handler get its chance to run.
    page.mouse.move(1, 1)
    page.mouse.move(200, 200)
    page.keyboard.press("Tab")
    loaded.flush()

    assert page.evaluate("() => typeof window.__pwned") == "undefined"
    assert loaded.dialogs == []

    # Exactly the expected meta elements, each well-formed.
    trace = loaded.meta.sentry_trace()
    assert len(loaded.meta.all("baggage")) <= 1
    traceparent = loaded.meta.traceparent()
    assert (traceparent["trace"], traceparent["span"]) == (trace["trace"], trace["span"])
    if continued:
        assert trace["trace"] == INCOMING_TRACE_ID
    else:
        assert trace["trace"] != INCOMING_TRACE_ID, "invalid input must start a new trace"

    # Nothing injected anywhere in the live DOM.
    injected = page.evaluate(
        """() => ({
            imgs: document.querySelectorAll('img').length,
            handlers: Array.from(document.querySelectorAll('*')).flatMap(
                el => Array.from(el.attributes).filter(a => a.name.startsWith('on')).map(a => el.tagName + ' ' + a.name)),
            scripts: Array.from(document.scripts).filter(
                s => (s.textContent || '').includes('__pwned') || (s.src || '').includes('pwned')).length,
            autofocus: document.querySelectorAll('[autofocus]').length,
        })"""
    )
    assert injected == {"imgs": 0, "handlers": [], "scripts": 0, "autofocus": 0}

    # The raw HTML, parsed on its own, agrees: one of each tag, nothing executable in <head>.
    soup = BeautifulSoup(loaded.html, "html.parser")
    head = soup.head
    assert head is not None
    metas = [m.get("name") for m in head.find_all("meta") if m.get("name") in ALLOWED_HEAD_META]
    assert (
        metas.count("sentry-trace") == 1
        and metas.count("traceparent") == 1
        and metas.count("baggage") <= 1
    )
    assert soup.find("img") is None
    assert "__pwned" not in " ".join(s.get_text() for s in soup.find_all("script"))

    # And the browser SDK still continues whatever the page rendered.
    transaction = assert_pageload_continues_page(loaded)
    page_dsc = loaded.meta.baggage_dsc()
    if page_dsc is not None:
        # The browser's DSC is the page's, item for item.
        assert normalize_dsc(transaction["envelopeTrace"]) == normalize_dsc(page_dsc)
