"""metatrace/_core/context.py: TraceContext: continuation, the DSC, sampling, ids, rendering.

Guard branches and fields that must agree with each other: a sampling decision that
contradicts the rate, and sample_rand against sample_rate and sampled, at the exact cut and one
step either side; the random ids: all 128 and 64 bits used, drawn from separate bits, never
all zero. And the short path of a trace we start, against the general one."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import Any

import pytest
from bs4 import BeautifulSoup
from django.test import Client

import metatrace
from metatrace._core import formats
from metatrace._core.config import get_config
from metatrace._core.context import TraceContext, _Resolved
from metatrace._core.formats import parse_baggage
from metatrace.checker.read import read_handover
from tests.conftest import (
    INCOMING_SPAN,
    INCOMING_TRACE,
    SENTRY_TRACE,
    decode_baggage,
    parse_trace_meta,
)
from tests.core.incoming import _TRACEPARENT, BAGGAGE, DSN, TRACEPARENT
from tests.timing_reader import parse_server_timing

# Continuation -------------------------------------------------------------------


def test_valid_sentry_trace_wins_over_traceparent() -> None:
    context = metatrace.continue_trace({"sentry-trace": SENTRY_TRACE, "traceparent": TRACEPARENT})
    assert context.trace_id == INCOMING_TRACE


def test_traceparent_is_used_when_sentry_trace_is_invalid() -> None:
    context = metatrace.continue_trace({"sentry-trace": "nonsense", "traceparent": TRACEPARENT})
    assert (context.trace_id, context.parent_span_id, context.sampled) == ("a" * 32, "b" * 16, True)


def test_traceparent_alone_is_continued_with_its_flag() -> None:
    context = metatrace.continue_trace({"traceparent": TRACEPARENT[:-2] + "00"})
    assert (context.trace_id, context.sampled) == ("a" * 32, False)


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


@pytest.mark.parametrize("flag, expected", [("-1", True), ("-0", False), ("", None)])
def test_sampling_flag_carries_through(flag: str, expected: bool | None) -> None:
    context = metatrace.continue_trace({"sentry-trace": f"{INCOMING_TRACE}-{INCOMING_SPAN}{flag}"})
    assert context.sampled is expected
    assert context.sentry_trace == f"{INCOMING_TRACE}-{context.span_id}{flag}"


def test_baggage_of_another_trace_is_dropped_but_third_party_members_stay() -> None:
    baggage = BAGGAGE.replace(INCOMING_TRACE, "f" * 32)
    context = metatrace.continue_trace({"sentry-trace": SENTRY_TRACE, "baggage": baggage})
    assert dict(context.dsc) == {}
    assert "baggage" not in parse_trace_meta(metatrace.trace_meta())
    assert context.baggage == "vendor=v1;p=1"


@pytest.mark.parametrize(
    "spelled, kept",
    [
        (f"%{ord(INCOMING_TRACE[0]):X}{INCOMING_TRACE[1:]}", True),  # this trace, an escape
        (f"%66{'f' * 31}", False),  # another trace, with an escape too
    ],
    ids=["this-trace-escaped", "another-trace-escaped"],
)
def test_a_dsc_is_read_by_its_decoded_trace_id(spelled: str, kept: bool) -> None:
    baggage = f"sentry-trace_id={spelled},sentry-public_key=theirs,vendor=1"
    context = metatrace.continue_trace({"sentry-trace": SENTRY_TRACE, "baggage": baggage})
    if kept:  # theirs, its trace id written plainly
        assert dict(context.dsc) == {
            "trace_id": INCOMING_TRACE,
            "public_key": "theirs",
            "sample_rand": context.dsc["sample_rand"],
        }
        assert context.baggage.startswith(f"sentry-trace_id={INCOMING_TRACE},")
    else:
        assert dict(context.dsc) == {}  # no key of ours: no DSC at all
        assert context.baggage == "vendor=1"


def test_baggage_without_a_trace_is_dropped() -> None:
    context = metatrace.continue_trace({"baggage": BAGGAGE})
    assert not context.continued
    assert dict(context.dsc) == {}


@pytest.mark.parametrize(
    "carrier",
    [
        {},
        {"sentry-trace": ""},
        {"sentry-trace": "x" * 100_000, "baggage": "=" * 100_000, "traceparent": "-" * 9000},
        {"sentry-trace": "'\"><script>alert(1)</script>", "traceparent": "\x00\r\n"},
    ],
    ids=["nothing", "empty", "huge", "hostile"],
)
def test_bad_input_starts_a_new_trace(carrier: dict[str, str]) -> None:
    metatrace.configure(public_key="abc", traces_sample_rate=1.0)
    context = metatrace.continue_trace(carrier)
    assert not context.continued
    assert context.parent_span_id is None
    tags = parse_trace_meta(metatrace.trace_meta())
    assert tags["sentry-trace"] == f"{context.trace_id}-{context.span_id}-1"
    assert decode_baggage(tags["baggage"])["trace_id"] == context.trace_id


@pytest.mark.parametrize(
    "headers, messages",
    [
        ({"sentry-trace": "garbage"}, ["ignoring malformed sentry-trace 'garbage'"]),
        ({"traceparent": "00-garbage"}, ["ignoring malformed traceparent '00-garbage'"]),
        ({"traceparent": _TRACEPARENT}, []),
        (
            # Not continued, so its DSC belongs to no trace of ours either.
            {"traceparent": _TRACEPARENT, "baggage": "sentry-org_id=2"},
            [
                "not continuing a trace of another organisation",
                "dropping baggage sentry items of another trace",
            ],
        ),
        (
            {"traceparent": _TRACEPARENT, "baggage": f"sentry-trace_id={'f' * 32}"},
            ["dropping baggage sentry items of another trace"],
        ),
    ],
    ids=["sentry-trace", "traceparent", "valid", "other-org", "other-trace"],
)
def test_input_that_is_not_continued_is_logged_at_debug_only_when_read(
    caplog: pytest.LogCaptureFixture, headers: dict[str, str], messages: list[str]
) -> None:
    metatrace.configure(org_id="1")
    caplog.set_level(logging.DEBUG, logger="metatrace")
    metatrace.continue_trace(headers)
    assert caplog.records == []  # lazy: nothing is parsed yet
    metatrace.trace_meta()
    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [
        (logging.DEBUG, f"metatrace: {message}") for message in messages
    ]


@pytest.mark.parametrize(
    "ours, theirs, strict, continued",
    [
        ("1", "1", False, True),
        ("1", "2", False, False),
        ("1", "2", True, False),
        ("1", None, False, True),
        ("1", None, True, False),
        (None, "2", False, True),
        (None, "2", True, False),
        (None, None, True, True),
    ],
)
def test_org_id_decides_whether_a_trace_is_joined(
    ours: str | None, theirs: str | None, strict: bool, continued: bool
) -> None:
    metatrace.configure(org_id=ours, strict_trace_continuation=strict)
    baggage = f"sentry-trace_id={INCOMING_TRACE}" + (f",sentry-org_id={theirs}" if theirs else "")
    context = metatrace.continue_trace({"sentry-trace": SENTRY_TRACE, "baggage": baggage})
    assert context.continued is continued
    assert (context.trace_id == INCOMING_TRACE) is continued
    if not continued:
        assert dict(context.dsc) == {}  # the foreign DSC went with the foreign trace


def test_tracestate_is_none_without_one_and_travels_beside_a_sentry_trace_of_its_trace() -> None:
    assert metatrace.continue_trace({"traceparent": _TRACEPARENT}).tracestate is None
    both = {
        "sentry-trace": f"{INCOMING_TRACE}-{INCOMING_SPAN}-1",
        "traceparent": _TRACEPARENT,
        "tracestate": "vendor=1",
    }
    assert metatrace.continue_trace(both).tracestate == "vendor=1"


# The DSC --------------------------------------------------------------------------


@pytest.mark.parametrize("version", [None, "11.12.0", "10.39.0"])
def test_no_sentry_trace_without_a_dsc_for_browsers_that_freeze_an_empty_one(
    version: str | None,
) -> None:
    # No key of ours and no DSC came in: @sentry/browser 11.12 and earlier would continue the
    # trace with an empty, frozen DSC (no public key), so the tags leave the trace to it.
    metatrace.configure(w3c=True, sentry_browser_version=version)
    context = metatrace.continue_trace({"sentry-trace": SENTRY_TRACE})
    assert parse_trace_meta(metatrace.trace_meta()) == {"traceparent": context.traceparent}
    assert [name for name, _ in context.page_fields()] == ["traceparent"]
    assert context.headers()["sentry-trace"] == context.sentry_trace  # the next service gets it


@pytest.mark.parametrize("version", ["11.17.0", "11.17", "12.0.0-beta.1", "v13.2.1"])
def test_sentry_trace_without_a_dsc_for_browsers_that_fill_in_their_own(version: str) -> None:
    metatrace.configure(sentry_browser_version=version)
    context = metatrace.continue_trace({"sentry-trace": SENTRY_TRACE})
    assert parse_trace_meta(metatrace.trace_meta()) == {"sentry-trace": context.sentry_trace}
    assert [name for name, _ in context.page_fields()] == ["sentry-trace"]
    started = metatrace.continue_trace()  # no key, no rate: the browser decides
    assert parse_trace_meta(started.meta()) == {
        "sentry-trace": f"{started.trace_id}-{started.span_id}"
    }


def test_a_trace_without_a_dsc_carries_no_baggage_field() -> None:
    # No key of ours, and none came in; a browser that fills in its own DSC.
    metatrace.configure(dsn=None, w3c=False, sentry_browser_version="11.17.0")
    context = metatrace.continue_trace({"sentry-trace": SENTRY_TRACE})
    assert [name for name, _ in context.page_fields()] == ["sentry-trace"]
    assert set(parse_trace_meta(str(context.meta()))) == {"sentry-trace"}


def test_incoming_trace_without_dsc_gets_ours_consistent_with_its_flag() -> None:
    metatrace.configure(public_key="abc", traces_sample_rate=0.25)
    for flag, sampled in (("1", True), ("0", False)):
        context = metatrace.continue_trace(
            {"sentry-trace": f"{INCOMING_TRACE}-{INCOMING_SPAN}-{flag}"}
        )
        assert context.sampled is sampled
        assert context.dsc["trace_id"] == INCOMING_TRACE
        assert context.dsc["sampled"] == str(sampled).lower()
        assert (float(context.dsc["sample_rand"]) < 0.25) is sampled


def test_incoming_dsc_is_kept_frozen_and_gets_a_sample_rand_that_agrees() -> None:
    metatrace.configure(dsn=DSN, release="ours", traces_sample_rate=1.0)
    context = metatrace.continue_trace({"sentry-trace": SENTRY_TRACE, "baggage": BAGGAGE})
    dsc = dict(context.dsc)
    assert float(dsc.pop("sample_rand")) < 0.5  # sampled at sample_rate 0.5
    assert dsc == parse_baggage(BAGGAGE).sentry
    unsampled = metatrace.continue_trace(
        {"sentry-trace": SENTRY_TRACE[:-1] + "0", "baggage": BAGGAGE}
    )
    assert float(unsampled.dsc["sample_rand"]) >= 0.5


def test_incoming_sample_rand_is_kept() -> None:
    baggage = f"{BAGGAGE},sentry-sample_rand=0.123456"
    context = metatrace.continue_trace({"sentry-trace": SENTRY_TRACE, "baggage": baggage})
    assert context.dsc["sample_rand"] == "0.123456"


# What it renders ------------------------------------------------------------------


def test_tags_and_server_timing_follow_a_change_of_settings() -> None:
    context = metatrace.continue_trace({"sentry-trace": f"{INCOMING_TRACE}-{INCOMING_SPAN}-1"})
    before = [name for name, _ in context.page_fields()]
    assert "traceparent" not in parse_trace_meta(str(context.meta()))
    metatrace.configure(w3c=True)  # as a test's override_settings does
    assert [name for name, _ in context.page_fields()] == [*before, "traceparent"]
    assert parse_trace_meta(str(context.meta()))["traceparent"] == (
        f"00-{INCOMING_TRACE}-{context.span_id}-01"
    )


def test_headers_follow_a_new_configuration() -> None:
    metatrace.configure(public_key="k", w3c=False)
    context = metatrace.continue_trace({"sentry-trace": SENTRY_TRACE})
    assert "traceparent" not in context.headers()
    metatrace.configure(public_key="k", w3c=True)
    assert context.headers()["traceparent"].split("-")[1] == INCOMING_TRACE


def test_a_trace_context_names_its_class_and_header_in_its_repr() -> None:
    context = metatrace.continue_trace({"sentry-trace": SENTRY_TRACE})
    assert repr(context) == f"<TraceContext {context.sentry_trace}>"


TRACE_A = "a" * 32


@pytest.mark.parametrize("value", ['a"b', "a\\b"])
def test_a_quote_or_backslash_in_the_baggage_is_escaped_too(value: str) -> None:
    # No baggage that metatrace parses keeps either (neither is a baggage octet): this holds
    # the rendering to escaping them anyway, should a resolved state ever carry one.
    context = TraceContext()
    baggage = f"sentry-trace_id={TRACE_A},sentry-release={value}"
    context._resolved = _Resolved(
        TRACE_A, "1" * 16, True, {"trace_id": TRACE_A, "release": value}, baggage, (), None, None
    )
    page = context.page()
    assert parse_trace_meta(str(page.tags))["baggage"] == baggage
    entries = dict(parse_server_timing(page.server_timing))
    assert entries["baggage"] == {"desc": baggage}


# A tracestate with every character W3C allows in a value that HTML or a quoted-string escapes.
TRACESTATE = 'congo=t61r"cWk<gMzE>&\\x,rojo=00f067aa0ba902b7'


def _server_timing(context: metatrace.TraceContext) -> dict[str, list[str]]:
    return read_handover("", [context.page().server_timing]).server_timing


def test_tracestate_goes_into_the_page_for_application_insights() -> None:
    metatrace.configure(w3c=True, tracestate=True, public_key="abc")
    context = metatrace.continue_trace({"traceparent": _TRACEPARENT, "tracestate": TRACESTATE})
    html = str(context.meta())
    soup = BeautifulSoup(html, "html.parser")
    tag = soup.find("meta", attrs={"name": "tracestate"})
    assert tag is not None and tag["content"] == context.tracestate == TRACESTATE
    assert soup.find("meta", attrs={"name": "traceparent"}) is not None
    assert _server_timing(context)["tracestate"] == [TRACESTATE]  # unquoted as a browser does
    assert ("tracestate", TRACESTATE) in context.page_fields()


def test_no_tracestate_tag_without_the_setting_or_a_tracestate() -> None:
    metatrace.configure(w3c=True, public_key="abc")
    context = metatrace.continue_trace({"traceparent": _TRACEPARENT, "tracestate": TRACESTATE})
    assert "tracestate" not in str(context.meta())
    metatrace.configure(w3c=True, tracestate=True, public_key="abc")
    started = metatrace.continue_trace()
    assert "tracestate" not in str(started.meta()) and "tracestate" not in _server_timing(started)


@pytest.mark.parametrize("w3c", [False, True])
@pytest.mark.parametrize("incoming", [{}, {"traceparent": _TRACEPARENT}])
def test_the_w3c_trace_metric_names_the_page_span(w3c: bool, incoming: dict[str, str]) -> None:
    metatrace.configure(trace_metric=True, w3c=w3c, public_key="abc", traces_sample_rate=1.0)
    context = metatrace.continue_trace(incoming)
    [metric] = _server_timing(context)["trace"]
    assert metric == f"00-{context.trace_id}-{context.span_id}-01"
    assert ("traceparent" in parse_trace_meta(str(context.meta()))) is w3c
    names = {m["name"] for m in BeautifulSoup(str(context.meta()), "html.parser").find_all("meta")}
    assert "trace" not in names  # in Server-Timing only


@pytest.mark.parametrize("w3c", [False, True])
def test_the_w3c_trace_metric_carries_a_decision_not_to_sample(w3c: bool) -> None:
    metatrace.configure(trace_metric=True, w3c=w3c, public_key="abc")
    context = metatrace.continue_trace({"sentry-trace": f"{INCOMING_TRACE}-{INCOMING_SPAN}-0"})
    [metric] = _server_timing(context)["trace"]
    assert metric == f"00-{INCOMING_TRACE}-{context.span_id}-00"


def test_no_trace_metric_by_default() -> None:
    metatrace.configure(public_key="abc")
    assert "trace" not in _server_timing(metatrace.continue_trace())


# A tracer's span (sentry-sdk's, exact) goes out as the tracer made it ------------------------

OTHER_TRACE_ID = "0123456789abcdef0123456789abcdef"


def test_a_tracers_span_keeps_its_baggage_and_tracestate_exactly() -> None:
    from metatrace._core.context import SpanContext

    baggage = f"sentry-trace_id={INCOMING_TRACE},sentry-public_key=k,vendor=1"
    span = SpanContext(INCOMING_TRACE, INCOMING_SPAN, True, baggage, exact=True, tracestate="a=1")
    assert repr(span) == f"<SpanContext {INCOMING_TRACE}-{INCOMING_SPAN}-1>"
    assert span.baggage == baggage
    assert dict(span.dsc) == {"trace_id": INCOMING_TRACE, "public_key": "k"}
    assert span.third_party_baggage == ("vendor=1",)
    assert span.tracestate == "a=1"


def test_a_tracers_span_sends_its_baggage_in_its_own_order() -> None:
    """sentry-sdk's header goes out as it made it, even where metatrace would order it
    otherwise (sentry members first)."""
    from metatrace._core.context import SpanContext

    baggage = f"vendor=1,sentry-trace_id={INCOMING_TRACE},sentry-public_key=k"
    span = SpanContext(INCOMING_TRACE, INCOMING_SPAN, True, baggage, exact=True)
    assert span.baggage == baggage
    assert span.headers()["baggage"] == baggage


def test_a_tracers_span_without_baggage_sends_none() -> None:
    from metatrace._core.context import SpanContext

    span = SpanContext(INCOMING_TRACE, INCOMING_SPAN, None, None, exact=True)
    assert (span.baggage, dict(span.dsc), span.tracestate) == ("", {}, None)
    assert "baggage" not in span.headers()


def test_a_tracers_dsc_of_another_trace_is_not_sent() -> None:
    from metatrace._core.context import SpanContext

    baggage = f"sentry-trace_id={OTHER_TRACE_ID},sentry-public_key=k"
    span = SpanContext(INCOMING_TRACE, INCOMING_SPAN, True, baggage, exact=True)
    assert dict(span.dsc) == {}
    assert "baggage" not in parse_trace_meta(str(span.meta()))


# Low 56 bits of 0xa1b2c3d4de56c0, whose remainder by a million is 123456; the high bits differ.
LOW_BITS = "a1b2c3d4de56c0"


@pytest.mark.parametrize("high", ["4bf92f3577b34da6a3", "00f067aa0ba902b7e1"])
def test_a_tracers_span_without_a_dsc_gets_a_sample_rand_from_its_trace_ids_low_bits(
    high: str,
) -> None:
    """Every rendering of the span (the tags, then Server-Timing; one process or another)
    freezes the same sample_rand: the one its trace id's random low 56 bits give."""
    from metatrace._core.context import SpanContext

    metatrace.configure(public_key="abc")
    span = SpanContext(high + LOW_BITS, INCOMING_SPAN, None, None, exact=True)
    assert span.dsc["sample_rand"] == "0.123456"
    assert "sentry-sample_rand=0.123456" in parse_trace_meta(str(span.meta()))["baggage"]


def test_the_baggage_that_came_in_is_handed_only_to_a_tracer_of_its_trace() -> None:
    """For dd-trace-py and Elastic's agent, which continue the headers but keep no baggage."""
    context = TraceContext(SENTRY_TRACE, BAGGAGE, TRACEPARENT)
    assert context.incoming_baggage(INCOMING_TRACE) == BAGGAGE
    assert context.incoming_baggage("f" * 32) is None  # the tracer runs another trace
    assert TraceContext(SENTRY_TRACE).incoming_baggage(INCOMING_TRACE) is None
    started = TraceContext()
    assert started.incoming_baggage(started.trace_id) is None


# A context's random bits, set by hand, and what they decide: the sampling, sample_rand, the ids ---

HEX = frozenset("0123456789abcdef")


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


# A trace we start with a key configured (most page loads) takes a short path in
# `TraceContext._render`; it must give exactly what the general path gives. The general path
# is reached here through the context's own steps (`_complete`, then `_render` with the state
# already resolved, which renders it as `_render_resolved`), since from outside the short path
# always wins: the point is that the two agree, value for value, for every setting that shapes
# the output. -------------------------------------------------------------------------------

KEY = "49d0f7386ad645858ae85020e393bef3"
SETTINGS: dict[str, dict[str, Any]] = {
    "no-rate": {"public_key": KEY},
    "rate-0": {"public_key": KEY, "traces_sample_rate": 0.0},
    "rate-quarter": {"public_key": KEY, "traces_sample_rate": 0.25},
    "rate-1": {"public_key": KEY, "traces_sample_rate": 1.0},
    "w3c": {"public_key": KEY, "traces_sample_rate": 0.25, "w3c": True},
    "w3c-no-rate": {"public_key": KEY, "w3c": True},
    "everything": {
        "dsn": f"https://{KEY}@o447951.ingest.sentry.io/5461230",
        "release": "shop@1.4.2 + «beta»",
        "environment": " staging & <qa> ",
        "traces_sample_rate": 0.5,
        "w3c": True,
    },
}
# Random bits: (sample_rand's 64, the trace id's 128, the span id's 64).
DRAWS = {
    "zero-draw": (0, 1, 1),
    "below-quarter": (249_999, 2**127 + 5, 2**63 + 7),
    "at-quarter": (250_000, 3, 3),
    "top": (999_999, 2**128 - 1, 2**64 - 1),
    "all-ones": (2**64 - 1, 2**128 - 1, 2**64 - 1),
    "zero-ids": (123_456, 0, 0),  # never all-zero ids: the fallback of _hex_ids
    "zero-trace": (123_456, 0, 5),
    "zero-span": (123_456, 5, 0),
    # The fallback keeps every bit of the other id, and none of sample_rand's (an odd one).
    "zero-span-full-trace": (123_457, 2**128 - 1, 0),
    "zero-trace-full-span": (123_457, 0, 2**64 - 1),
}


def new_drawn(sample: int, trace: int, span: int) -> TraceContext:
    context = TraceContext()
    context._rand = (sample << 192) | (trace << 64) | span
    return context


def general(context: TraceContext) -> TraceContext:
    """`context` resolved and rendered by the general path."""
    config = get_config()
    trace_id = f"{((context._rand >> 64) & (2**128 - 1)) or 1:032x}"
    context._resolved = context._complete(config, trace_id, None, None, formats.EMPTY_BAGGAGE, None)
    context._render(config)
    return context


@pytest.mark.parametrize("draw", DRAWS.values(), ids=DRAWS.keys())
@pytest.mark.parametrize("settings", SETTINGS.values(), ids=SETTINGS.keys())
def test_the_short_path_gives_what_the_general_path_gives(
    settings: dict[str, Any], draw: tuple[int, int, int]
) -> None:
    metatrace.configure(**settings)
    short, reference = new_drawn(*draw), general(new_drawn(*draw))
    assert str(short.meta()) == str(reference.meta())
    assert short.page_fields() == reference.page_fields()
    assert short._resolved == reference._resolved
    assert list(short.dsc.items()) == list(reference.dsc.items())  # the order too
    assert short.headers() == reference.headers()
    tags = parse_trace_meta(str(short.meta()))
    assert tags["baggage"] == short.baggage
    trace_id, span_id, *_ = tags["sentry-trace"].split("-")
    assert int(trace_id, 16) and int(span_id, 16)  # W3C: never all-zero


@pytest.mark.parametrize("draw", DRAWS.values(), ids=DRAWS.keys())
def test_the_ids_are_the_drawn_bits_in_hex_and_never_all_zero(draw: tuple[int, int, int]) -> None:
    metatrace.configure(public_key=KEY)
    _, trace, span = draw
    context = new_drawn(*draw)
    expected_trace, expected_span = f"{trace or 1:032x}", f"{span or 1:016x}"
    assert (context.trace_id, context.span_id) == (expected_trace, expected_span)
    assert parse_trace_meta(str(context.meta()))["sentry-trace"].startswith(
        f"{expected_trace}-{expected_span}"
    )


def test_resolving_without_rendering_takes_the_short_path_too() -> None:
    metatrace.configure(public_key=KEY, traces_sample_rate=0.25)
    context, reference = new_drawn(249_999, 7, 9), general(new_drawn(249_999, 7, 9))
    assert context.sampled is True
    assert context.baggage == reference.baggage
    assert context.meta() == reference.meta()


def test_settings_too_long_for_one_header_take_the_general_path() -> None:
    """A release over the per-member limit is left out, as fit_baggage leaves it out."""
    metatrace.configure(public_key=KEY, release="r" * 5000, traces_sample_rate=1.0)
    with metatrace.trace_scope() as context:
        tags = parse_trace_meta(str(metatrace.trace_meta()))
    assert "release" not in context.dsc
    sentry = formats.parse_baggage(tags["baggage"]).sentry
    assert sentry["public_key"] == KEY and sentry["sampled"] == "true"
    assert "release" not in sentry


def test_a_started_trace_without_a_key_has_no_sentry_tags() -> None:
    metatrace.configure(traces_sample_rate=1.0, w3c=True)
    with metatrace.trace_scope():
        tags = parse_trace_meta(str(metatrace.trace_meta()))
    assert set(tags) == {"traceparent"}
    assert tags["traceparent"].endswith("-01")


def test_a_new_configuration_is_seen_by_the_next_trace() -> None:
    metatrace.configure(public_key=KEY, release="1.0")
    with metatrace.trace_scope() as first:
        assert first.dsc["release"] == "1.0"
    metatrace.configure(public_key=KEY, release="2.0", traces_sample_rate=0.0)
    with metatrace.trace_scope() as second:
        assert second.dsc["release"] == "2.0"
        assert second.dsc["sampled"] == "false"
        assert parse_trace_meta(str(metatrace.trace_meta()))["sentry-trace"].endswith("-0")
