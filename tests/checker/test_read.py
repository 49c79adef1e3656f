"""metatrace/checker/read.py: what a fetched page hands the browser: meta tags, Server-Timing."""

from __future__ import annotations

import urllib.request
from typing import Any

import pytest

from metatrace.checker import OK, check, render
from metatrace.checker.read import read_meta
from tests.checker.servers import SITE_DSN

pytestmark = [pytest.mark.usefixtures("django_config")]


def test_meta_reading_decodes_entities_like_a_browser() -> None:
    html = (
        '<head><META NAME="baggage" content="sentry-a=1&amp;2,sentry-b=&quot;">'
        '<meta name="sentry-trace" content="first" content="second">'
        '<meta name="Sentry-Trace" content="not read: names are case-sensitive"></head>'
    )
    assert read_meta(html) == {"baggage": ['sentry-a=1&2,sentry-b="'], "sentry-trace": ["first"]}


def test_the_sample_site_server_timing_is_read_when_present(live_server: Any) -> None:
    with urllib.request.urlopen(live_server.url + "/", timeout=10) as response:
        header = response.headers.get_all("Server-Timing") or []
    text = render(check(live_server.url + "/"))
    if any("traceparent" in value for value in header):
        assert "ok    Server-Timing traceparent: 00-" in text
    else:
        assert "Server-Timing: absent" in text


@pytest.mark.parametrize("path", ["/server-timing/", "/server-timing-escaped/"])
def test_server_timing_alone_hands_the_trace_over(pages: str, path: str) -> None:
    report = check(pages + path, dsn=SITE_DSN)
    assert report.exit_status == OK, render(report)
    text = render(report)
    assert "continued: same trace id" in text
    assert "ok    Server-Timing sentry-trace: " in text
    assert "ok    Server-Timing baggage: sentry-trace_id=" in text
    assert "public key 5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e matches --dsn" in text
    assert "no trace meta tags" in text
