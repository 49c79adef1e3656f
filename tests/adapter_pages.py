"""What the WSGI and ASGI tests share: the incoming trace, the pages, and their readers."""

from __future__ import annotations

from bs4 import BeautifulSoup

from metatrace._pages.responses import HEAD_LIMIT
from tests.conftest import (
    INCOMING_SPAN,
    INCOMING_TRACE,
    decode_baggage,
    parse_trace_meta,
    split_sentry_trace,
)
from tests.timing_reader import parse_server_timing

HEADERS = {
    "sentry-trace": f"{INCOMING_TRACE}-{INCOMING_SPAN}-1",
    "baggage": f"sentry-trace_id={INCOMING_TRACE},sentry-public_key=abc,sentry-release=r%201",
}
PAGE = "<html><head>{{ trace_meta() }}</head><body>{{ text }}</body></html>"


def _continued(html: str) -> str:
    """Asserts the page continues HEADERS' trace with a span of its own; returns that span."""
    tags = parse_trace_meta(html)
    trace_id, span_id, flag = split_sentry_trace(tags["sentry-trace"])
    assert (trace_id, flag) == (INCOMING_TRACE, "1")
    assert span_id != INCOMING_SPAN
    assert decode_baggage(tags["baggage"])["release"] == "r 1"
    return span_id


def _page_text(html: str) -> str:
    soup = BeautifulSoup(html, "html.parser")
    assert soup.body is not None
    return soup.body.get_text()


OTHER = "0123456789abcdef0123456789abcdef"
STALE_HEAD = (
    f'<html><head><meta name="sentry-trace" content="{OTHER}-0123456789abcdef-1">'
    "<title>t</title></head><body>"
)

NO_TAGS = "<!doctype html><html><head><title>t</title></head><body><p>no tags</p></body></html>"
TIMING = 'db;dur=53, cache;desc="hit, miss"'


def _entries(header: str | None) -> dict[str, str]:
    """The trace entries of a Server-Timing value, name -> unescaped desc."""
    names = ("sentry-trace", "baggage", "traceparent")
    return {
        name: params["desc"] for name, params in parse_server_timing(header or "") if name in names
    }


L = HEAD_LIMIT

# A 30 KB head, as a page with inline critical CSS has, then its body, in chunks.
HEAD_CHUNKS = [
    b"<html><head><style>" + b"p{margin:0}" * 2000,
    b'</style><meta name="sentry-trace" content="' + OTHER.encode() + b'-0123456789abcdef-1">'
    b"</head>",
    b"<body>" + b"x" * 5000,
    b"</body></html>",
]
