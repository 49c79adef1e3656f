"""metatrace/_core/formats.py: the wire formats, checked against tests/conformance/ too."""

from __future__ import annotations

from typing import Any

import pytest

import metatrace
from metatrace._core import formats
from metatrace._core.context import TraceContext
from tests.conftest import INCOMING_SPAN, INCOMING_TRACE, SENTRY_TRACE, load_conformance


def _rows(name: str, *before: Any) -> list[Any]:
    """Conformance rows as parameters (after `before`), with ids that say the row."""
    return [
        pytest.param(*before, row, id=f"{name}#{number}:{row['value'][:50]!r}")
        for number, row in enumerate(load_conformance(name))
    ]


@pytest.mark.parametrize(
    "parse, row",
    [
        *_rows("sentry_trace.json", formats.parse_sentry_trace),
        *_rows("traceparent.json", formats.parse_traceparent),
    ],
)
def test_trace_header_conformance(parse: Any, row: Any) -> None:
    parsed = parse(row["value"])
    if not row["valid"]:
        assert parsed is None
    else:
        assert parsed is not None
        assert parsed.trace_id == row["trace_id"]
        assert parsed.sampled is row["sampled"]


@pytest.mark.parametrize("row", _rows("baggage.json"))
def test_baggage_conformance(row: dict[str, Any]) -> None:
    parsed = formats.parse_baggage(row["value"])
    assert parsed.sentry == row["sentry"]
    assert list(parsed.third_party) == row["third_party"]


TRACE = "12312012123120121231201212312012"
SPAN = "0415201309082013"


@pytest.mark.parametrize(
    "parse, value",
    [
        # Uppercase hex is invalid.
        (formats.parse_sentry_trace, f"ABCDEF0123456789ABCDEF0123456789-{SPAN}-1"),
        (formats.parse_sentry_trace, f"{TRACE}-{SPAN.replace('04', 'AF')}-1"),
        (formats.parse_sentry_trace, f"{TRACE}-{SPAN}-"),
        (formats.parse_sentry_trace, f"{TRACE}--1"),
        (formats.parse_sentry_trace, f"{TRACE}-{SPAN}-1\n"),
        (formats.parse_sentry_trace, f"\u00a0{TRACE}-{SPAN}-1"),
        (formats.parse_traceparent, f"00-ABCDEF0123456789ABCDEF0123456789-{SPAN}-01"),
        (formats.parse_traceparent, f"00-{TRACE}-{SPAN}-0g"),
        (formats.parse_traceparent, f"00-{TRACE}-{SPAN}-01,00-{TRACE}-{SPAN}-01"),
        (formats.parse_traceparent, f"01-{TRACE}-{SPAN}-01x"),
    ],
)
def test_trace_header_invalid(parse: Any, value: str) -> None:
    assert parse(value) is None


def test_sentry_trace_first_non_empty_of_repeated() -> None:
    parsed = formats.parse_sentry_trace(f" , \t,{TRACE}-{SPAN}-0,{TRACE}-{'1' * 16}-1")
    assert parsed == formats.IncomingTrace(TRACE, SPAN, False)


def test_sentry_trace_first_non_empty_is_taken_even_if_invalid() -> None:
    assert formats.parse_sentry_trace(f"garbage,{TRACE}-{SPAN}-1") is None


def test_traceparent_flags_bit_zero_is_sampled() -> None:
    assert formats.parse_traceparent(f"00-{TRACE}-{SPAN}-02") == formats.IncomingTrace(
        TRACE, SPAN, False
    )


def test_baggage_skips_malformed_members_and_keeps_the_rest() -> None:
    parsed = formats.parse_baggage(
        "sentry-release=1.0,bad member=x, =novalue,sentry-user=%E0%80%AF,"
        "sentry-environment=prod,other=a b,third=ok;prop=1 ;flag"
    )
    # %E0%80%AF is an overlong UTF-8 sequence: not valid text, so the member is skipped.
    assert parsed.sentry == {"release": "1.0", "environment": "prod"}
    assert parsed.third_party == ("third=ok;prop=1;flag",)


@pytest.mark.parametrize(
    "value",
    [
        "sentry-release=1.0;build=7;flag,sentry-environment=prod;x",
        "sentry-release = 1.0 ; build=7 ; flag , sentry-environment=prod ;x",
    ],
)
def test_baggage_properties_are_not_part_of_a_sentry_value(value: str) -> None:
    assert formats.parse_baggage(value).sentry == {"release": "1.0", "environment": "prod"}


def test_baggage_member_over_4096_bytes_is_skipped() -> None:
    parsed = formats.parse_baggage(f"sentry-release={'r' * 4100},sentry-environment=prod")
    assert parsed.sentry == {"environment": "prod"}


def test_baggage_header_over_8192_bytes_counts_utf8_bytes() -> None:
    # 4000 characters but 8000+ bytes once encoded: the whole header is ignored.
    value = "sentry-environment=prod,x=" + "é" * 4100
    assert formats.parse_baggage(value) == formats.EMPTY_BAGGAGE


def test_baggage_repeated_key_last_value_wins() -> None:
    parsed = formats.parse_baggage("sentry-release=a,k=1,sentry-release=b,k=2")
    assert parsed.sentry == {"release": "b"}
    assert parsed.third_party == ("k=2",)


def test_format_baggage_puts_sentry_first_and_never_duplicates_keys() -> None:
    value = formats.format_baggage(
        {"trace_id": TRACE, "release": "a b,c"}, ["sentry-release=evil", "k=1", "k=2"]
    )
    assert value == f"sentry-trace_id={TRACE},sentry-release=a%20b%2Cc,k=1"


def test_format_baggage_keeps_within_member_and_size_limits() -> None:
    members = [f"k{i}={'v' * 60}" for i in range(400)]
    value = formats.format_baggage({"trace_id": TRACE}, members)
    assert len(value.encode()) <= formats.BAGGAGE_MAX_BYTES
    assert value.count(",") + 1 <= formats.BAGGAGE_MAX_MEMBERS
    assert value.startswith(f"sentry-trace_id={TRACE},k0=")
    few = formats.format_baggage({}, [f"k{i}=v" for i in range(300)])
    assert few.count(",") + 1 == formats.BAGGAGE_MAX_MEMBERS
    assert formats.format_baggage({"release": "r" * 5000}, ["k=v"]) == "k=v"


@pytest.mark.parametrize(
    "value", ["plain", "a b", "é ü 日本", "\"<'&>", "%41", ",;=", "\x00\n", "🙂"]
)
def test_baggage_round_trip(value: str) -> None:
    parsed = formats.parse_baggage(formats.format_baggage({"release": value}))
    # Values are read stripped, as OpenTelemetry reads them (docs/readers.md).
    assert parsed.sentry == {"release": value.strip()}


def test_format_headers() -> None:
    assert formats.format_sentry_trace(TRACE, SPAN, None) == f"{TRACE}-{SPAN}"
    assert formats.format_sentry_trace(TRACE, SPAN, False) == f"{TRACE}-{SPAN}-0"
    assert formats.format_traceparent(TRACE, SPAN, True) == f"00-{TRACE}-{SPAN}-01"
    # No decision yet: "may have recorded", so OpenTelemetry web records (docs/readers.md).
    assert formats.format_traceparent(TRACE, SPAN, None) == f"00-{TRACE}-{SPAN}-01"
    assert formats.format_traceparent(TRACE, SPAN, False) == f"00-{TRACE}-{SPAN}-00"


def test_outgoing_members_are_told_apart_by_their_key_alone() -> None:
    """Each key once, the key being what comes before the first '=' (values and properties
    may hold more)."""
    assert formats.join_baggage({}, ["k=1;p=1", "k=2;p=1", "j=a=b"]) == "k=1;p=1,j=a=b"
    sentry = formats.parse_baggage("sentry-release=a=b").sentry_encoded
    assert sentry == {"release": "a=b"}
    assert formats.join_baggage(sentry, ["sentry-release=2"]) == "sentry-release=a=b"


def test_a_first_value_of_other_whitespace_is_not_skipped() -> None:
    # Only spaces and tabs are optional whitespace: a vertical tab is a malformed first value.
    valid = f"{TRACE}-{SPAN}-1"
    assert formats.parse_sentry_trace(f" \t,{valid}") is not None
    assert formats.parse_sentry_trace(f"\x0b,{valid}") is None


def test_a_member_with_an_undecodable_key_does_not_stop_the_ones_after_it() -> None:
    baggage = formats.parse_baggage("k%FF=1,sentry-release=x,other=2")
    assert baggage.sentry_encoded == {"release": "x"}
    assert "other=2" in baggage.third_party


def test_a_slash_in_a_value_is_escaped() -> None:
    # quote() keeps '/' unless told otherwise; our canonical spelling escapes every reserved octet.
    assert formats.encode_value("shop/1.4") == "shop%2F1.4"


# A tracer's own header: what came in, with the member the tracer added ----------------------

DSC_MEMBERS = f"sentry-trace_id={TRACE},sentry-public_key=k,sentry-sample_rand=0.25"


def _vendors(count: int, size: int = 40) -> list[str]:
    return [f"vendor{i}={'v' * size}" for i in range(count)]


def _padded(members: list[str], size: int, *, wide: bool) -> str:
    """`members`, then one more, `pad=…`, that makes the header `size` bytes in UTF-8: of
    'x's, or of 'é's (two bytes each, so fewer characters than bytes) if `wide`."""
    head = ",".join(members) + ",pad="
    left = size - len(head.encode())
    header = head + ("é" * (left // 2) + "x" * (left % 2) if wide else "x" * left)
    assert len(header.encode()) == size
    return header


@pytest.mark.parametrize(
    "header",
    [
        ",".join([*_vendors(3), DSC_MEMBERS]),
        ",".join([*_vendors(3), "odd=é", DSC_MEMBERS]),  # few bytes, though not ASCII
        _padded([*_vendors(3), DSC_MEMBERS], formats.BAGGAGE_MAX_BYTES, wide=False),
        _padded([*_vendors(3), DSC_MEMBERS], formats.BAGGAGE_MAX_BYTES, wide=True),
    ],
    ids=["ascii", "not-ascii", "ascii-at-the-bound", "not-ascii-at-the-bound"],
)
def test_a_tracers_header_within_the_bound_is_read_and_sent_as_it_is(header: str) -> None:
    assert len(header.encode()) <= formats.BAGGAGE_MAX_BYTES
    baggage, sent = formats.fit_tracer_baggage(header)
    assert sent == header  # vendors first, as the tracer wrote it
    assert baggage == formats.parse_baggage(header)


@pytest.mark.parametrize("where", ["first", "last"])
def test_a_tracers_header_past_the_bound_keeps_the_dsc_and_drops_vendors_first(
    where: str,
) -> None:
    vendors = _vendors(200)  # past the 180 members and the 8,192 bytes
    members = [DSC_MEMBERS, *vendors] if where == "first" else [*vendors, DSC_MEMBERS]
    header = ",".join(members)
    assert len(header) > formats.BAGGAGE_MAX_BYTES
    baggage, sent = formats.fit_tracer_baggage(header)
    assert baggage.sentry == {"trace_id": TRACE, "public_key": "k", "sample_rand": "0.25"}
    assert sent.startswith(DSC_MEMBERS + ",vendor0=")
    assert baggage.third_party[-1] == sent.split(",")[-1]
    assert len(sent.encode()) <= formats.BAGGAGE_MAX_BYTES
    assert len(sent.split(",")) <= formats.BAGGAGE_MAX_MEMBERS
    assert baggage.third_party == tuple(sent.split(",")[3:])  # the vendors that fit, in order
    assert formats.parse_baggage(sent) == baggage  # what goes out reads back the same


def test_a_tracers_header_past_the_bound_skips_oversized_and_encoded_members_right() -> None:
    big = "big=" + "b" * formats.BAGGAGE_MAX_MEMBER_BYTES
    encoded = f"sentry%2Dtrace_id={TRACE}"  # a sentry member, once its key is decoded
    header = ",".join([big, " vendor=é ", encoded, *_vendors(200)])
    baggage, sent = formats.fit_tracer_baggage(header)
    assert baggage.sentry == {"trace_id": TRACE}
    # The sentry member as metatrace spells it, then the vendors that fit and are well-formed.
    assert sent.startswith(f"sentry-trace_id={TRACE},vendor0=")
    assert "big=" not in sent and "é" not in sent
    assert len(sent.encode()) <= formats.BAGGAGE_MAX_BYTES


def test_a_tracers_header_of_many_bytes_but_few_characters_is_fitted() -> None:
    header = ",".join([DSC_MEMBERS, *_vendors(130, 45), "odd=" + "é" * 700])
    assert len(header) <= formats.BAGGAGE_MAX_BYTES < len(header.encode())
    baggage, sent = formats.fit_tracer_baggage(header)
    assert baggage.sentry["trace_id"] == TRACE
    assert len(sent.encode()) <= formats.BAGGAGE_MAX_BYTES
    assert baggage.third_party == tuple(_vendors(130, 45))  # the malformed one is skipped


def test_a_tracers_header_past_the_bound_for_one_oversized_member_keeps_all_the_rest() -> None:
    big = "big=" + "b" * 5200  # over the per-member limit: skipped, and the rest fits
    header = ",".join([DSC_MEMBERS, big, *_vendors(60)])
    assert len(header) > formats.BAGGAGE_MAX_BYTES
    baggage, sent = formats.fit_tracer_baggage(header)
    assert baggage.third_party == tuple(_vendors(60))
    assert sent == ",".join([DSC_MEMBERS, *_vendors(60)])


def _sized(count: int, size: int) -> list[str]:
    """`count` members of exactly `size` bytes."""
    return [f"v{i:03d}=" + "x" * (size - 5) for i in range(count)]


# The DSC's 92 bytes, then 81 members of 99 bytes and their commas: 8,192 bytes exactly.
AT_THE_BOUND = _sized(81, 99)
BEYOND = _sized(90, 99)[81:]
BIG = "big=" + "b" * (formats.BAGGAGE_MAX_MEMBER_BYTES - 4)  # a member at its own bound


@pytest.mark.parametrize(
    "members, kept, size",
    [
        ([DSC_MEMBERS, *AT_THE_BOUND, *BEYOND], [DSC_MEMBERS, *AT_THE_BOUND], 8192),
        ([*AT_THE_BOUND, *BEYOND, DSC_MEMBERS], [DSC_MEMBERS, *AT_THE_BOUND], 8192),
        ([DSC_MEMBERS, BIG, *AT_THE_BOUND], [DSC_MEMBERS, BIG, *AT_THE_BOUND[:40]], 8189),
    ],
    ids=["dsc-first", "dsc-last", "a-member-of-4096-bytes"],
)
def test_a_tracers_header_past_the_bound_keeps_every_member_that_fits_to_the_byte(
    members: list[str], kept: list[str], size: int
) -> None:
    header = ",".join(members)
    assert len(header) > formats.BAGGAGE_MAX_BYTES
    baggage, sent = formats.fit_tracer_baggage(header)
    assert sent == ",".join(kept)
    assert len(sent) == size  # the next member would be one too many bytes
    assert baggage == formats.parse_baggage(sent)


BULK = "x" * 3000


@pytest.mark.parametrize(
    "member, leads",
    [
        (f"sentry%2Drelease={BULK}", True),  # a sentry member once its key is decoded
        (f"sentry-release=%FF{BULK}=x", True),  # one whose value no reader can decode
        (f"vendor={BULK}", False),
        # Malformed (no reader takes it, and none is kept): its key is no sentry key.
        (f"\x0bsentry-release={BULK}", False),
        (f"\x0bvendor={BULK}", False),
    ],
    ids=["encoded-key", "undecodable-value", "vendor", "vertical-tab-sentry", "vertical-tab"],
)
def test_a_tracers_header_past_the_bound_ranks_its_members_by_their_key(
    member: str, leads: bool
) -> None:
    """Sentry members take their place in the bound first, whatever their values; the
    others after them, in their order: here, 150 vendors' members of 7,500 bytes, then
    `member` of 3,000 more."""
    vendors = _vendors(150)
    header = ",".join([*vendors, member])
    baggage, sent = formats.fit_tracer_baggage(header)
    if leads:
        assert 0 < len(baggage.third_party) < len(vendors)
        assert baggage.third_party == tuple(vendors[: len(baggage.third_party)])
    else:
        assert baggage.third_party == tuple(vendors)
        assert sent == ",".join(vendors)
    assert baggage.sentry == ({"release": BULK} if member.startswith("sentry%2D") else {})


@pytest.mark.parametrize(
    "value, length, valid",
    [
        (TRACE, 32, True),
        (SPAN, 16, True),
        ("0" * 31 + "1", 32, True),
        ("0" * 32, 32, False),  # all zeros: invalid
        ("0" * 16, 16, False),
        (SPAN, 32, False),  # hex, of another length
        (TRACE + "0", 32, False),
        (TRACE.replace("1", "A"), 32, False),  # uppercase
        ("g" * 16, 16, False),
        (None, 16, False),
        (int(SPAN, 16), 16, False),
    ],
)
def test_an_id_is_lowercase_hex_of_its_length_and_not_all_zeros(
    value: object, length: int, valid: bool
) -> None:
    assert formats.is_id(value, length) is valid


# Edges of the formats ---------------------------------------------------------

TRACEPARENT = f"00-{INCOMING_TRACE}-{INCOMING_SPAN}-01"


@pytest.mark.parametrize(
    "tracestate, kept",
    [
        ("a=1, ,b=2,\t,", "a=1,b=2"),
        ("a=1" + "," * (8192 - 3), "a=1"),  # empty members count towards the header cap
        ("a=1" + "," * (8192 - 2), None),
    ],
    ids=["empty-members-dropped", "at-the-header-cap", "one-over-the-header-cap"],
)
def test_tracestate_drops_empty_members_and_headers_over_the_cap(
    tracestate: str, kept: str | None
) -> None:
    context = metatrace.continue_trace({"traceparent": TRACEPARENT, "tracestate": tracestate})
    assert context.trace_id == INCOMING_TRACE
    assert context.tracestate == kept


@pytest.mark.parametrize(
    "tracestate, kept",
    [
        ("a=" + "x" * 254 + ",b=" + "y" * 253, True),  # 512 characters
        ("a=" + "x" * 254 + ",b=" + "y" * 254, False),  # 513
        ("a=1\r", False),  # only spaces and tabs are optional whitespace
        ("a=1,\x0bb=2", False),
    ],
    ids=["512-characters", "513-characters", "carriage-return", "vertical-tab"],
)
def test_tracestate_at_its_size_limit_and_with_other_whitespace(
    tracestate: str, kept: bool
) -> None:
    context = metatrace.continue_trace({"traceparent": TRACEPARENT, "tracestate": tracestate})
    assert context.tracestate == (tracestate if kept else None)


@pytest.mark.parametrize("end", ["\n", "\r", "\x0b"], ids=["newline", "return", "vertical-tab"])
def test_a_traceparent_ending_in_other_whitespace_is_not_continued(end: str) -> None:
    context = metatrace.continue_trace({"traceparent": TRACEPARENT + end})
    assert context.trace_id != INCOMING_TRACE
    assert metatrace.continue_trace({"traceparent": TRACEPARENT + " \t"}).trace_id == INCOMING_TRACE


def test_sentry_fields_with_a_hyphen_or_token_characters_are_written_canonically() -> None:
    """'-' is escaped in a field (sentry-python reads a field up to the next '-'), as '%2D';
    the token characters a key may hold stay as they are."""
    from metatrace._core.formats import format_baggage, parse_baggage

    header = format_baggage({"my-field": "v", "a!b#c": "1", "trace_id": INCOMING_TRACE})
    assert header == f"sentry-my%2Dfield=v,sentry-a!b#c=1,sentry-trace_id={INCOMING_TRACE}"
    assert parse_baggage(header).sentry == {
        "my-field": "v",
        "a!b#c": "1",
        "trace_id": INCOMING_TRACE,
    }


def test_a_plus_in_a_sentry_value_is_escaped_on_the_way_out() -> None:
    """'+' means a space to some readers (form decoding): it leaves as %2B, the same text."""
    baggage = f"sentry-trace_id={INCOMING_TRACE},sentry-public_key=k,sentry-release=1+2"
    context = metatrace.continue_trace({"sentry-trace": SENTRY_TRACE, "baggage": baggage})
    assert "sentry-release=1%2B2," in context.baggage + ","
    assert context.dsc["release"] == "1+2"


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
