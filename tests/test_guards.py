"""Guard branches and fields that must agree with each other.

- a sampling decision that contradicts the rate, and sample_rand against sample_rate and
  sampled, at the exact cut and one step either side;
- the random ids: all 128 and 64 bits used, drawn from separate bits, never all zero;
- traceparent flags that hold hex letters;
- responses whose `Date` is not the current time;
- exactly what stripping a cacheable page removes;
- a W3C-only trace arriving through a WSGI environ.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterable
from typing import Any

import pytest
from django.test import Client

import metatrace
import metatrace.wsgi
from metatrace import formats
from metatrace.caching import is_shared_cacheable
from metatrace.context import TraceContext
from metatrace.responses import header_map, read_page
from tests.conftest import INCOMING_SPAN, INCOMING_TRACE, parse_trace_meta

HEX = frozenset("0123456789abcdef")


def needs_stripping(headers: list[tuple[str, str]]) -> bool:
    """Whether the response side strips this complete HTML response (metatrace.responses)."""
    page = read_page(header_map(headers), 200, complete=True)
    return page is not None and page.strips


def strip_trace_meta(body: bytes) -> bytes:
    """`body` as the response side sends it when a shared cache may store the page."""
    page = read_page({"content-type": "text/html", "cache-control": "public"}, 200, complete=True)
    assert page is not None and page.strips
    return page.body(body, lambda: "a shared-cacheable page")


def drawn(context: TraceContext, *, sample: int = 0, trace: int = 0, span: int = 0) -> TraceContext:
    """`context` with its random bits set: 64 for sample_rand (the top), 128 for a trace id
    it starts, 64 for its span id (the bottom). The draw is the context's one random input."""
    context._rand = (sample << 192) | (trace << 64) | span
    return context


def sample_rand(context: TraceContext) -> float:
    value = context.dsc["sample_rand"]
    assert re.fullmatch(r"0\.\d{6}", value), value  # six decimals, as Sentry's SDKs send it
    return float(value)


@pytest.fixture
def head() -> None:
    """We are the first Sentry-aware hop: a public key, so a DSC is frozen here."""
    metatrace.configure(public_key="abc", traces_sample_rate=0.5)


# Sampling decisions against the rate ---------------------------------------------------------


@pytest.mark.parametrize(
    "rate, flag, sampled",
    [(1.0, "0", False), (0.0, "1", True)],
    ids=["not-sampled-at-rate-1", "sampled-at-rate-0"],
)
@pytest.mark.parametrize("sample", [0, 999_999, 2**64 - 1], ids=["low", "high", "all-ones"])
def test_a_decision_that_contradicts_the_rate_is_kept_and_does_not_raise(
    rate: float, flag: str, sampled: bool, sample: int
) -> None:
    metatrace.configure(public_key="abc", traces_sample_rate=rate)
    context = drawn(TraceContext(f"{INCOMING_TRACE}-{INCOMING_SPAN}-{flag}"), sample=sample)
    assert context.sampled is sampled
    assert context.dsc["sampled"] == str(sampled).lower()
    # The decision came from upstream: a sample_rate of ours beside it would contradict it.
    assert "sample_rate" not in context.dsc
    assert 0.0 <= sample_rand(context) < 1.0
    assert parse_trace_meta(str(context.meta()))["sentry-trace"].endswith(f"-{flag}")


def test_a_contradicting_decision_through_a_django_request(client: Client, settings: Any) -> None:
    settings.METATRACE = {"PUBLIC_KEY": "abc", "TRACES_SAMPLE_RATE": 1.0}
    headers = {"sentry-trace": f"{INCOMING_TRACE}-{INCOMING_SPAN}-0"}
    response = client.get("/", headers=headers)
    assert response.status_code == 200
    baggage = formats.parse_baggage(parse_trace_meta(response.content.decode())["baggage"])
    assert baggage.sentry["sampled"] == "false"
    assert 0.0 <= float(baggage.sentry["sample_rand"]) < 1.0


# (sample bits, decision) -> sample_rand, at rate 0.5: a sampled trace's value lies in
# [0, 0.5), an unsampled one's in [0.5, 1), each range walked by the bits modulo its width.
AT_HALF = [
    (0, True, "0.000000"),
    (499_999, True, "0.499999"),
    (500_000, True, "0.000000"),
    (0, False, "0.500000"),
    (499_999, False, "0.999999"),
    (500_000, False, "0.500000"),
]


@pytest.mark.parametrize("sample, sampled, expected", AT_HALF)
def test_sample_rand_lies_on_the_side_of_the_rate_that_the_decision_took(
    head: None, sample: int, sampled: bool, expected: str
) -> None:
    flag = "1" if sampled else "0"
    context = drawn(TraceContext(f"{INCOMING_TRACE}-{INCOMING_SPAN}-{flag}"), sample=sample)
    assert context.dsc["sample_rand"] == expected
    assert context.sampled is sampled


@pytest.mark.parametrize(
    "sample, sampled",
    [(0, True), (499_999, True), (500_000, False), (999_999, False), (1_000_000, True)],
)
def test_a_deferred_decision_is_taken_from_sample_rand(
    head: None, sample: int, sampled: bool
) -> None:
    # The rule: sampled exactly when sample_rand < rate; 0.5 itself is not sampled.
    context = drawn(TraceContext(f"{INCOMING_TRACE}-{INCOMING_SPAN}"), sample=sample)
    assert context.sampled is sampled
    assert context.dsc["sampled"] == str(sampled).lower()
    assert (sample_rand(context) < 0.5) is sampled


def test_a_started_trace_decides_the_same_way(head: None) -> None:
    for sample, sampled in ((499_999, True), (500_000, False)):
        context = drawn(TraceContext(), sample=sample)
        assert context.sampled is sampled
        assert context.dsc["sample_rand"] == f"{sample / 1_000_000:.6f}"


def test_no_rate_no_decision() -> None:
    metatrace.configure(public_key="abc")
    context = drawn(TraceContext(), sample=999_999)
    assert context.sampled is None
    assert "sampled" not in context.dsc
    assert context.dsc["sample_rand"] == "0.999999"


# An incoming DSC without sample_rand gets one that agrees with its sample_rate and sampled.
INCOMING_DSC = f"sentry-trace_id={INCOMING_TRACE},sentry-public_key=theirs"


@pytest.mark.parametrize(
    "items, flag, sample, expected",
    [
        ("sentry-sample_rate=0.25,sentry-sampled=true", "", 249_999, "0.249999"),
        ("sentry-sample_rate=0.25,sentry-sampled=true", "", 250_000, "0.000000"),
        ("sentry-sample_rate=0.25,sentry-sampled=false", "", 0, "0.250000"),
        ("sentry-sample_rate=0.25,sentry-sampled=false", "", 749_999, "0.999999"),
        # The header's decision wins over the DSC's.
        ("sentry-sample_rate=0.25,sentry-sampled=true", "-0", 0, "0.250000"),
        ("sentry-sample_rate=0.25,sentry-sampled=false", "-1", 0, "0.000000"),
        # Percent-encoded rates are decoded; the ends of [0, 1] are rates too.
        ("sentry-sample_rate=%30.25,sentry-sampled=false", "", 0, "0.250000"),
        ("sentry-sample_rate=1.0,sentry-sampled=true", "", 999_999, "0.999999"),
        ("sentry-sample_rate=0.0,sentry-sampled=false", "", 999_999, "0.999999"),
        # No usable rate or decision: anything in [0, 1).
        ("sentry-sample_rate=1.5,sentry-sampled=true", "", 999_999, "0.999999"),
        ("sentry-sample_rate=1.5,sentry-sampled=true", "", 1_200_000, "0.200000"),
        ("sentry-sample_rate=-0.25,sentry-sampled=false", "", 0, "0.000000"),
        ("sentry-sample_rate=nan,sentry-sampled=false", "", 0, "0.000000"),
        ("sentry-sample_rate=half,sentry-sampled=false", "", 0, "0.000000"),
        ("sentry-sample_rate=0.25,sentry-sampled=yes", "", 999_999, "0.999999"),
        ("sentry-sampled=true", "", 999_999, "0.999999"),
        # A rate with more decimals than sample_rand: the values on the right side of it only.
        ("sentry-sample_rate=0.2500005,sentry-sampled=false", "", 0, "0.250001"),
        ("sentry-sample_rate=0.2500005,sentry-sampled=true", "", 249_999, "0.249999"),
        ("sentry-sample_rate=0.2500005,sentry-sampled=true", "", 250_000, "0.000000"),
        ("sentry-sample_rate=0.9999995,sentry-sampled=false", "", 0, "0.000000"),  # none: any
        # A decision that contradicts its own rate: anything in [0, 1), never 1.
        ("sentry-sample_rate=1.0,sentry-sampled=false", "", 999_999, "0.999999"),
        ("sentry-sample_rate=1.0,sentry-sampled=false", "", 1_000_000, "0.000000"),
        ("sentry-sample_rate=0.0,sentry-sampled=true", "", 999_999, "0.999999"),
    ],
)
def test_an_incoming_dsc_gets_a_sample_rand_that_agrees_with_it(
    head: None, items: str, flag: str, sample: int, expected: str
) -> None:
    sentry_trace = f"{INCOMING_TRACE}-{INCOMING_SPAN}{flag}"
    context = drawn(TraceContext(sentry_trace, f"{INCOMING_DSC},{items}"), sample=sample)
    assert context.dsc["sample_rand"] == expected
    assert context.dsc["public_key"] == "theirs"  # the rest of their DSC is kept


def test_an_incoming_sample_rand_is_kept_as_it_came(head: None) -> None:
    baggage = f"{INCOMING_DSC},sentry-sample_rate=0.25,sentry-sampled=true,sentry-sample_rand=0.9"
    context = drawn(TraceContext(f"{INCOMING_TRACE}-{INCOMING_SPAN}", baggage), sample=5)
    assert context.dsc["sample_rand"] == "0.9"


@pytest.mark.parametrize("rate", [0.0, 0.1, 0.5, 0.999999, 1.0])
def test_sample_rand_agrees_with_the_decision_across_many_contexts(rate: float) -> None:
    metatrace.configure(public_key="abc", traces_sample_rate=rate)
    for flag in ("", "-0", "-1"):
        for _ in range(200):
            context = TraceContext(f"{INCOMING_TRACE}-{INCOMING_SPAN}{flag}")
            value = sample_rand(context)
            assert 0.0 <= value < 1.0
            assert context.dsc["sampled"] == str(context.sampled).lower()
            contradicts = (context.sampled and rate == 0.0) or (not context.sampled and rate == 1.0)
            if not contradicts:
                assert (value < rate) is context.sampled, (flag, value)


# The random ids -------------------------------------------------------------------------------


def test_ids_come_from_their_own_bits() -> None:
    metatrace.configure(public_key="abc")
    context = drawn(TraceContext(), sample=3, trace=2, span=1)
    assert context.trace_id == f"{2:032x}"
    assert context.span_id == f"{1:016x}"
    assert context.dsc["sample_rand"] == "0.000003"
    top = drawn(TraceContext(), sample=0, trace=2**128 - 1, span=2**64 - 1)
    assert top.trace_id == "f" * 32
    assert top.span_id == "f" * 16
    assert top.dsc["sample_rand"] == "0.000000"


def test_all_zero_bits_still_make_valid_ids() -> None:
    context = drawn(TraceContext())
    assert context.trace_id == "0" * 31 + "1"
    assert context.span_id == "0" * 15 + "1"
    # Both parse as ids a receiver would continue.
    assert formats.parse_sentry_trace(context.sentry_trace) is not None
    assert formats.parse_traceparent(context.traceparent) is not None


def _digits_seen(values: Iterable[str], length: int) -> list[set[str]]:
    seen: list[set[str]] = [set() for _ in range(length)]
    for value in values:
        assert len(value) == length and set(value) <= HEX, value
        for position, digit in enumerate(value):
            seen[position].add(digit)
    return seen


def test_random_ids_are_distinct_and_use_every_digit_position() -> None:
    contexts = [TraceContext() for _ in range(1000)]
    trace_ids = [context.trace_id for context in contexts]
    span_ids = [context.span_id for context in contexts]
    assert len(set(trace_ids)) == len(trace_ids)
    assert len(set(span_ids)) == len(span_ids)
    # Every position, the first included, takes every hex digit: all the bits are random.
    # (With 1000 draws, a missing digit at one of the 48 positions has a chance of ~1e-26.)
    assert all(len(digits) == 16 for digits in _digits_seen(trace_ids, 32))
    assert all(len(digits) == 16 for digits in _digits_seen(span_ids, 16))
    # The span id is not a slice of the trace id.
    assert not any(span in trace for span, trace in zip(span_ids, trace_ids, strict=True))


def test_continued_traces_draw_fresh_span_ids() -> None:
    spans = {TraceContext(f"{INCOMING_TRACE}-{INCOMING_SPAN}").span_id for _ in range(500)}
    assert len(spans) == 500
    assert INCOMING_SPAN not in spans


# traceparent flags ----------------------------------------------------------------------------

FLAGS = {"00": False, "01": True, "0a": False, "0b": True, "a0": False, "a1": True, "fe": False}
FLAGS |= {"ff": True, "1f": True, "10": False}


@pytest.mark.parametrize("flags", FLAGS)
def test_traceparent_flags_with_hex_letters(flags: str) -> None:
    header = f"00-{INCOMING_TRACE}-{INCOMING_SPAN}-{flags}"
    expected = formats.IncomingTrace(INCOMING_TRACE, INCOMING_SPAN, FLAGS[flags])
    assert formats.parse_traceparent(header) == expected
    metatrace.configure(w3c=True)
    context = TraceContext(traceparent=header)
    assert (context.trace_id, context.sampled) == (INCOMING_TRACE, FLAGS[flags])
    assert context.traceparent.endswith("-01" if FLAGS[flags] else "-00")


@pytest.mark.parametrize("flags", ["0A", "Ff", "0g", "1", "001", "-1"])
def test_traceparent_flags_that_are_not_two_lowercase_hex_digits(flags: str) -> None:
    assert formats.parse_traceparent(f"00-{INCOMING_TRACE}-{INCOMING_SPAN}-{flags}") is None


@pytest.mark.parametrize(
    "version, rest, valid",
    [
        ("00", "", True),
        ("00", "-x", False),  # version 00 has exactly four fields
        ("01", "", True),
        ("cc", "-what-comes-later", True),
        ("fe", "-x", True),
        ("ff", "", False),  # the one forbidden version
        ("0f", "-", True),
    ],
)
def test_traceparent_versions(version: str, rest: str, valid: bool) -> None:
    header = f"{version}-{INCOMING_TRACE}-{INCOMING_SPAN}-01{rest}"
    assert (formats.parse_traceparent(header) is not None) is valid


# Expires against Date, when Date is not now ----------------------------------------------------

LONG_AGO = "Mon, 01 Jan 2001 00:00:00 GMT"


@pytest.mark.parametrize(
    "expires, date, shared",
    [
        ("Mon, 01 Jan 2001 00:00:01 GMT", LONG_AGO, True),  # fresh for a second after Date
        ("Mon, 01 Jan 2001 00:00:00 GMT", LONG_AGO, False),
        ("Sun, 31 Dec 2000 23:59:59 GMT", LONG_AGO, False),
        ("Mon, 01 Jan 2001 01:00:00 GMT", LONG_AGO, True),  # both long past: Date decides
        ("Thu, 01 Jan 2099 00:00:00 GMT", "Fri, 01 Jan 2100 00:00:00 GMT", False),  # after now
        ("Fri, 01 Jan 2100 00:00:01 GMT", "Fri, 01 Jan 2100 00:00:00 GMT", True),
        ("Mon, 01 Jan 2001 00:00:01", "Mon, 01 Jan 2001 00:00:00", True),  # no zone: GMT
        ("Mon, 01 Jan 2001 01:00:01 +0100", LONG_AGO, True),  # zones are honoured
        ("Mon, 01 Jan 2001 01:00:00 +0100", LONG_AGO, False),
        # An unreadable Date (or none): the time of receipt, now.
        ("Mon, 01 Jan 2001 01:00:00 GMT", "garbage", False),
        ("Thu, 01 Jan 2099 00:00:00 GMT", "garbage", True),
        ("Thu, 01 Jan 2099 00:00:00 GMT", "", True),
        ("Thu, 01 Jan 2099 00:00:00 GMT", "Thu, 32 Jan 2099 00:00:00 GMT", True),
        ("Mon, 01 Jan 2001 01:00:00 GMT", "Mon, 01 Jan 99999 00:00:00 GMT", False),
        # An unreadable Expires is in the past, whatever Date says.
        ("0", LONG_AGO, False),
        ("Thu, 01 Jan 2099 25:00:00 GMT", LONG_AGO, False),
    ],
)
def test_expires_is_compared_with_the_response_date(expires: str, date: str, shared: bool) -> None:
    assert is_shared_cacheable(None, expires, date) is shared
    headers = [("Content-Type", "text/html"), ("Expires", expires), ("Date", date)]
    assert needs_stripping(headers) is shared


@pytest.mark.parametrize(
    "cache_control, shared",
    [
        ("max-age=1", True),
        ("max-age=0", False),
        ("max-age=01", True),
        ("max-age=-1", False),
        ("max-age=", False),
        ("MAX-AGE=60", True),
        ("S-MAXAGE=60", True),
        ("NO-STORE, PUBLIC", False),
        ('max-age="0"', False),
        ("s-maxage=0", True),  # a shared cache may store it, if only to revalidate
        ("public, max-age=0", True),
        ("no-store, s-maxage=60", False),
        ("max-age=60, no-store", False),
        ("max-age = 60", True),
        ("max_age=60", False),
        ("max-age=60=60", False),
    ],
)
def test_max_age_at_zero_and_one(cache_control: str, shared: bool) -> None:
    assert is_shared_cacheable(cache_control) is shared


def test_max_age_overrides_expires_both_ways() -> None:
    future = "Thu, 01 Jan 2099 00:00:00 GMT"
    assert is_shared_cacheable("max-age=0", future) is False
    assert is_shared_cacheable("max-age=", future) is False  # present, if unreadable
    assert is_shared_cacheable('max-age=""', future) is False
    assert is_shared_cacheable("max-age=1", LONG_AGO) is True


@pytest.mark.parametrize(
    "headers, strip",
    [
        ([("cache-control", "public"), ("content-type", "TEXT/HTML")], True),
        ([("CACHE-CONTROL", "public"), ("CONTENT-TYPE", "text/html")], True),
        ([("Cache-Control", "public"), ("Content-Type", "text/htm")], False),
        ([("Cache-Control", "public"), ("Content-Type", "application/xhtml+xml")], True),
        ([("Cache-Control", "public"), ("Content-Type", "application/xml")], False),
        ([("Cache-Control", "public"), ("Content-Type", "text/html"), ("X", "private")], True),
        (
            [
                ("Cache-Control", "public"),
                ("Content-Type", "text/html"),
                ("Content-Encoding", " Identity "),
            ],
            True,
        ),
        (
            [
                ("Cache-Control", "public"),
                ("Content-Type", "text/html"),
                ("Content-Encoding", "br"),
            ],
            False,
        ),
        (
            [
                ("Cache-Control", "max-age=0"),
                ("Cache-Control", "public"),
                ("Content-Type", "text/html"),
            ],
            True,
        ),
        (
            [
                ("Cache-Control", "public"),
                ("Cache-Control", "private"),
                ("Content-Type", "text/html"),
            ],
            False,
        ),
    ],
    ids=[
        "lowercase-names",
        "uppercase-names",
        "not-html",
        "xhtml",
        "xml",
        "other-header-says-private",
        "identity-encoding",
        "brotli",
        "repeated-cache-control-public",
        "repeated-cache-control-private",
    ],
)
def test_which_responses_need_stripping(headers: list[tuple[str, str]], strip: bool) -> None:
    assert needs_stripping(headers) is strip


# Exactly what stripping removes ----------------------------------------------------------------


def test_stripping_removes_the_three_rendered_tags_and_nothing_else() -> None:
    metatrace.configure(public_key="abc", w3c=True)
    baggage = f"sentry-trace_id={INCOMING_TRACE},sentry-release=a%22b%3Cc%3E,k=v"
    context = TraceContext(f"{INCOMING_TRACE}-{INCOMING_SPAN}-1", baggage)
    tags = str(context.meta()).encode()
    assert len(parse_trace_meta(tags.decode())) == 3
    # Everything around the tags, including near misses that must stay exactly as they are.
    keep = [
        b"<!doctype html><html><head>\n",
        b'<meta name="description" content="sentry-trace">',
        b'<meta name="sentry-trace" content="x" >',  # not metatrace's own spelling
        b'<meta name="sentry-traces" content="x">',
        b'<META NAME="baggage" CONTENT="x">',
        b"<meta name='traceparent' content='x'>",
        b'<meta content="x" name="baggage">',
        b'<meta name="baggage" content="a>b">',
        b'<meta name="baggage" content="a<b">',
        b'<meta name="baggage" content="x" data-x="y">',
        b'<meta name="baggage">',
        b"\n\t",
        b'<p>&lt;meta name="baggage" content="x"&gt;</p>',
        "<p>caf\u00e9 \u2603</p>".encode(),
        b"</head><body></body></html>",
    ]
    page = keep[0] + tags + b"".join(keep[1:5]) + tags + b"".join(keep[5:]) + tags
    assert strip_trace_meta(page) == b"".join(keep)


@pytest.mark.parametrize(
    "tag",
    [
        b'<meta name="sentry-trace" content="">',
        b'<meta name="baggage" content="sentry-release=a&amp;b,k=%22">',
        b'<meta name="traceparent" content="00-x-y-01">',
    ],
)
def test_stripping_removes_each_tag_metatrace_renders(tag: bytes) -> None:
    assert strip_trace_meta(b"<head>" + tag + tag + b"</head>") == b"<head></head>"


def test_a_stripped_django_page_differs_from_the_unstripped_one_by_exactly_the_tags(
    client: Client, settings: Any
) -> None:
    settings.METATRACE = {"PUBLIC_KEY": "abc", "W3C": True}
    headers = {"sentry-trace": f"{INCOMING_TRACE}-{INCOMING_SPAN}-1"}
    private = client.get("/t/private/", headers=headers).content
    public = client.get("/t/public/", headers=headers).content
    tags = re.findall(rb'<meta name="(?:sentry-trace|baggage|traceparent)"[^>]*>', private)
    assert len(tags) == 3
    unstripped = private
    for tag in tags:
        unstripped = unstripped.replace(tag, b"")
    assert public.replace(b"public", b"private") == unstripped.replace(b"public", b"private")


# A W3C-only trace through a WSGI environ -------------------------------------------------------


def test_a_w3c_only_trace_continues_through_a_wsgi_environ() -> None:
    metatrace.configure(public_key="abc", w3c=True)
    seen: list[TraceContext] = []

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen.append(environ["metatrace"])
        start_response("200 OK", [("Content-Type", "text/html")])
        return [f"<head>{metatrace.trace_meta()}</head>".encode()]

    middleware = metatrace.wsgi.TraceMiddleware(app)  # type: ignore[arg-type]
    environ = {
        "REQUEST_METHOD": "GET",
        "HTTP_TRACEPARENT": f"00-{INCOMING_TRACE}-{INCOMING_SPAN}-01",
    }
    body = b"".join(middleware(environ, lambda status, headers, exc_info=None: None))
    (context,) = seen
    assert (context.trace_id, context.parent_span_id, context.sampled) == (
        INCOMING_TRACE,
        INCOMING_SPAN,
        True,
    )
    tags = parse_trace_meta(body.decode())
    assert tags["traceparent"] == f"00-{INCOMING_TRACE}-{context.span_id}-01"
    assert tags["sentry-trace"] == f"{INCOMING_TRACE}-{context.span_id}-1"
    dsc = formats.parse_baggage(tags["baggage"]).sentry
    assert dsc["trace_id"] == INCOMING_TRACE  # our DSC, frozen for the continued trace
    assert dsc["sampled"] == "true"
    assert float(dsc["sample_rand"]) < 1.0


def test_a_w3c_only_trace_through_django(client: Client, settings: Any) -> None:
    settings.METATRACE = {"W3C": True, "PUBLIC_KEY": "abc"}
    headers = {"traceparent": f"00-{INCOMING_TRACE}-{INCOMING_SPAN}-00"}
    tags = parse_trace_meta(client.get("/", headers=headers).content.decode())
    assert tags["traceparent"].startswith(f"00-{INCOMING_TRACE}-")
    assert tags["traceparent"].endswith("-00")
    assert tags["sentry-trace"].startswith(f"{INCOMING_TRACE}-")
    assert tags["sentry-trace"].endswith("-0")


def test_sentry_trace_wins_over_traceparent_in_an_environ() -> None:
    other = "f" * 32
    environ = {
        "HTTP_SENTRY_TRACE": f"{INCOMING_TRACE}-{INCOMING_SPAN}-0",
        "HTTP_TRACEPARENT": f"00-{other}-{INCOMING_SPAN}-01",
    }
    context = metatrace.continue_trace(environ)
    assert (context.trace_id, context.sampled) == (INCOMING_TRACE, False)
    # A malformed sentry-trace falls back to the traceparent.
    environ["HTTP_SENTRY_TRACE"] = "junk"
    context = metatrace.continue_trace(environ)
    assert (context.trace_id, context.sampled) == (other, True)


def test_a_date_without_a_zone_is_gmt_whatever_the_local_zone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Nine hours east of GMT: read as local time, the zone-less Expires would lie before Date.
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    try:
        assert is_shared_cacheable(None, "Mon, 01 Jan 2001 00:00:01", LONG_AGO) is True
        assert is_shared_cacheable(None, LONG_AGO, "Mon, 01 Jan 2001 00:00:01") is False
    finally:
        monkeypatch.undo()
        time.tzset()


def test_a_compressed_cacheable_page_warns_on_the_metatrace_logger(
    caplog: pytest.LogCaptureFixture,
) -> None:
    headers = [("Cache-Control", "public"), ("Content-Type", "text/html")]
    with caplog.at_level(logging.WARNING, logger="metatrace"):
        assert not needs_stripping([*headers, ("Content-Encoding", "br")])
    (record,) = caplog.records
    assert (record.name, record.levelno) == ("metatrace", logging.WARNING)
    message = record.getMessage()
    assert message.startswith("metatrace: ")
    assert "(br)" in message  # which encoding it met
    assert message.endswith("(GZipMiddleware above TraceMiddleware)")  # the fix, verbatim


# sample_rand: a decimal below one, as Python's float() and JavaScript's parseFloat() agree ------

RAND_BAGGAGE = f"{INCOMING_DSC},sentry-sample_rate=0.25,sentry-sampled=true,sentry-sample_rand="


@pytest.mark.parametrize("value", ["0", "0.", ".5", "0.5", "5e-1", "5E-1", "0e+1", "0e1", "9E-9"])
def test_a_decimal_sample_rand_below_one_is_kept(head: None, value: str) -> None:
    context = drawn(
        TraceContext(f"{INCOMING_TRACE}-{INCOMING_SPAN}", RAND_BAGGAGE + value), sample=5
    )
    assert context.dsc["sample_rand"] == value


@pytest.mark.parametrize(
    "value",
    [
        "",
        ".",
        "1",
        "1.0",
        "1e0",
        "e1",
        ".e1",
        "5e-",
        "5e+",
        "0x1",
        "+0.5",
        "-0.5",
        "0.5abc",
        "nan",
        "inf",
        "0.5.5",
        "5.e1",
        "0.5e-1.0",
    ],
)
def test_a_sample_rand_that_is_not_a_decimal_below_one_is_drawn_again(
    head: None, value: str
) -> None:
    context = drawn(
        TraceContext(f"{INCOMING_TRACE}-{INCOMING_SPAN}", RAND_BAGGAGE + value), sample=5
    )
    assert context.dsc["sample_rand"] != value
    assert sample_rand(context) < 0.25  # on the side of the rate that sampled=true took


@pytest.mark.parametrize("rand", ["1.000000", "10000000", "9.999999", "0.a23456", "0..23456"])
def test_a_sample_rand_of_eight_characters_outside_zero_to_one_is_replaced(
    head: None, rand: str
) -> None:
    """The six-decimal shape that Sentry's SDKs send is taken as it is; anything else of the
    same length goes through the full check, and a value outside [0, 1) is replaced."""
    context = TraceContext(
        f"{INCOMING_TRACE}-{INCOMING_SPAN}-1",
        f"sentry-trace_id={INCOMING_TRACE},sentry-sample_rand={rand}",
    )
    assert context.dsc["sample_rand"] != rand
    assert 0.0 <= sample_rand(context) < 1.0


def test_a_six_decimal_sample_rand_is_kept(head: None) -> None:
    context = TraceContext(
        f"{INCOMING_TRACE}-{INCOMING_SPAN}-1",
        f"sentry-trace_id={INCOMING_TRACE},sentry-sample_rand=0.000001",
    )
    assert context.dsc["sample_rand"] == "0.000001"
