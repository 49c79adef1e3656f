"""Every limit and size rule, tried at its exact value and one either side, incoming and outgoing.

The limits are written out here as numbers (from W3C baggage and OpenTelemetry), never read
from `metatrace.formats`: a test that built its input from the constant would move with it,
and a constant changed by one would go unnoticed. Each test below fails if any of them moves
by one in either direction (checked by `tools/mutants.py`, see docs/maintainers/testing.md).
"""

from __future__ import annotations

from urllib.parse import unquote

import pytest

import metatrace
from metatrace._core import formats
from metatrace._core.context import TraceContext
from metatrace.outgoing import merge_baggage
from tests.conftest import INCOMING_SPAN, INCOMING_TRACE

HEADER_BYTES = 8192  # a whole baggage header
MEMBERS = 180  # baggage members considered, and sent
MEMBER_BYTES = 4096  # one baggage member
TRACE_HEADER_BYTES = 8192  # sentry-trace and traceparent

SENTRY_TRACE = f"{INCOMING_TRACE}-{INCOMING_SPAN}-1"
TRACEPARENT = f"00-{INCOMING_TRACE}-{INCOMING_SPAN}-01"


def member(size: int, key: str = "k", *, spaced: bool = False) -> str:
    """One well-formed member of exactly `size` characters (bytes: it is ASCII)."""
    head = f" {key} = " if spaced else f"{key}="
    tail = " " if spaced else ""
    value = size - len(head) - len(tail)
    assert value >= 1, size
    return f"{head}{'v' * value}{tail}"


def members(total: int, count: int, *, spaced: bool = False) -> list[str]:
    """`count` well-formed members, keys k0, k1, ..., that join to exactly `total` bytes."""
    body = total - (count - 1)  # the commas
    sizes = [body // count + (1 if i < body % count else 0) for i in range(count)]
    result = [member(size, f"k{i}", spaced=spaced) for i, size in enumerate(sizes)]
    assert len(",".join(result)) == total
    return result


def normalised(raw: list[str]) -> tuple[str, ...]:
    return tuple(part.replace(" ", "") for part in raw)


def many(count: int) -> list[str]:
    return [f"k{i}=v{i}" for i in range(count)]


# The whole baggage header: 8192 bytes ------------------------------------------------------


@pytest.mark.parametrize("spaced", [False, True], ids=["plain", "spaced"])
@pytest.mark.parametrize("extra", [-1, 0, 1], ids=["under", "at", "over"])
def test_incoming_header_over_8192_bytes_is_ignored_whole(extra: int, spaced: bool) -> None:
    first = "sentry-release=r1"  # short, and first: it would be read if anything were
    raw = [first, *members(HEADER_BYTES + extra - len(first) - 1, 3, spaced=spaced)]
    header = ",".join(raw)
    assert len(header) == HEADER_BYTES + extra
    parsed = formats.parse_baggage(header)
    if extra > 0:
        assert parsed == formats.EMPTY_BAGGAGE
    else:
        assert parsed.sentry == {"release": "r1"}
        assert parsed.third_party == normalised(raw[1:])


# Characters of 2, 3 and 4 bytes in UTF-8, and a lone surrogate (3 bytes as Python counts it).
WIDE = {"2-byte": "é", "3-byte": "€", "4-byte": "😀", "surrogate": "\udc80"}


@pytest.mark.parametrize("char", WIDE.values(), ids=WIDE.keys())
@pytest.mark.parametrize("extra", [-1, 0, 1], ids=["under", "at", "over"])
def test_incoming_header_limit_counts_utf8_bytes_not_characters(char: str, extra: int) -> None:
    width = len(char.encode("utf-8", "surrogatepass"))
    wide = "w=" + char * 100  # a malformed member (not ASCII): skipped when read
    ascii_bytes = HEADER_BYTES + extra - (2 + 100 * width) - 1  # the comma
    raw = members(ascii_bytes, 3)
    header = ",".join([*raw, wide])
    assert len(header.encode("utf-8", "surrogatepass")) == HEADER_BYTES + extra
    assert len(header) < HEADER_BYTES - 1  # in characters it is well under in every case
    expected = () if extra > 0 else tuple(raw)
    assert formats.parse_baggage(header).third_party == expected


# Members considered: the first 180 ------------------------------------------------------------


@pytest.mark.parametrize("spaced", [False, True], ids=["plain", "spaced"])
@pytest.mark.parametrize("count", [MEMBERS - 1, MEMBERS, MEMBERS + 1, MEMBERS + 2])
def test_incoming_members_past_the_180th_are_not_read(count: int, spaced: bool) -> None:
    raw = many(count)
    header = (" , " if spaced else ",").join(raw)
    assert formats.parse_baggage(header).third_party == tuple(raw[:MEMBERS])


def test_incoming_sentry_item_as_the_181st_member_is_not_read() -> None:
    header = ",".join([*many(MEMBERS), "sentry-release=late"])
    assert formats.parse_baggage(header).sentry == {}
    header = ",".join([*many(MEMBERS - 1), "sentry-release=last"])
    assert formats.parse_baggage(header).sentry == {"release": "last"}


def test_incoming_malformed_members_count_towards_the_180() -> None:
    raw = many(MEMBERS)
    raw[0] = "not a member"
    assert formats.parse_baggage(",".join([*raw, "late=1"])).third_party == tuple(raw[1:])


# One member: 4096 bytes ---------------------------------------------------------------------


@pytest.mark.parametrize("spaced", [False, True], ids=["plain", "spaced"])
@pytest.mark.parametrize("alone", [True, False], ids=["alone", "with-others"])
@pytest.mark.parametrize("size", [MEMBER_BYTES - 1, MEMBER_BYTES, MEMBER_BYTES + 1])
def test_incoming_member_over_4096_bytes_is_skipped(size: int, alone: bool, spaced: bool) -> None:
    big = member(size, "big", spaced=spaced)
    raw = [big] if alone else ["a=1", big, "b=2"]
    kept = [m for m in raw if len(m) <= MEMBER_BYTES]
    assert formats.parse_baggage(",".join(raw)).third_party == normalised(kept)


@pytest.mark.parametrize("size", [MEMBER_BYTES - 1, MEMBER_BYTES, MEMBER_BYTES + 1])
def test_incoming_sentry_member_over_4096_bytes_is_skipped(size: int) -> None:
    big = member(size, "sentry-release")
    parsed = formats.parse_baggage(f"sentry-environment=prod,{big}")
    expected = {"environment": "prod"}
    if size <= MEMBER_BYTES:
        expected["release"] = big.partition("=")[2]
    assert parsed.sentry == expected


# Outgoing: join_baggage keeps within the same three limits ------------------------------------


@pytest.mark.parametrize("total", [HEADER_BYTES - 1, HEADER_BYTES, HEADER_BYTES + 1])
def test_outgoing_members_stop_at_8192_bytes(total: int) -> None:
    raw = members(total, 3)
    joined = formats.join_baggage({}, raw)
    assert joined == ",".join(raw if total <= HEADER_BYTES else raw[:2])


def test_outgoing_sentry_items_count_towards_8192_bytes() -> None:
    value = "r" * (MEMBER_BYTES - len("sentry-release="))
    third = members(HEADER_BYTES - MEMBER_BYTES - 1, 2)
    joined = formats.join_baggage({"release": value}, third)
    assert joined == ",".join([f"sentry-release={value}", *third])
    assert len(joined) == HEADER_BYTES
    longer = [third[0], third[1] + "v"]
    assert formats.join_baggage({"release": value}, longer) == f"sentry-release={value},{third[0]}"


@pytest.mark.parametrize("count", [MEMBERS - 1, MEMBERS, MEMBERS + 1])
def test_outgoing_members_stop_at_180(count: int) -> None:
    raw = many(count)
    assert formats.join_baggage({}, raw).split(",") == raw[:MEMBERS]


def test_outgoing_sentry_items_count_towards_the_180() -> None:
    sentry = {f"f{i}": str(i) for i in range(10)}
    joined = formats.join_baggage(sentry, many(MEMBERS))
    assert joined.split(",") == [f"sentry-f{i}={i}" for i in range(10)] + many(MEMBERS - 10)


def test_outgoing_skipped_oversized_members_do_not_count_towards_the_180() -> None:
    raw = [member(MEMBER_BYTES + 1, "big"), *many(MEMBERS)]
    assert formats.join_baggage({}, raw).split(",") == many(MEMBERS)


@pytest.mark.parametrize("alone", [True, False], ids=["alone", "with-others"])
@pytest.mark.parametrize("size", [MEMBER_BYTES - 1, MEMBER_BYTES, MEMBER_BYTES + 1])
def test_outgoing_member_over_4096_bytes_is_skipped(size: int, alone: bool) -> None:
    big = member(size, "big")
    raw = [big] if alone else ["a=1", big, "b=2"]
    assert formats.join_baggage({}, raw) == ",".join(m for m in raw if len(m) <= MEMBER_BYTES)


@pytest.mark.parametrize("size", [MEMBER_BYTES - 1, MEMBER_BYTES, MEMBER_BYTES + 1])
def test_outgoing_sentry_item_over_4096_bytes_is_skipped(size: int) -> None:
    value = "r" * (size - len("sentry-release="))
    joined = formats.format_baggage({"release": value, "environment": "prod"})
    expected = [f"sentry-release={value}"] if size <= MEMBER_BYTES else []
    assert joined.split(",") == [*expected, "sentry-environment=prod"]


# End to end: a request's baggage at the limit goes out unchanged; one byte more, not at all ---


def _incoming_baggage(total: int) -> str:
    """Sentry items of the incoming trace first (so nothing is added or moved), then
    third-party members filling the header to exactly `total` bytes."""
    sentry = f"sentry-trace_id={INCOMING_TRACE},sentry-sample_rand=0.5,sentry-sampled=true"
    return ",".join([sentry, *members(total - len(sentry) - 1, 3)])


@pytest.mark.parametrize("total", [HEADER_BYTES - 1, HEADER_BYTES])
def test_a_request_baggage_at_the_limit_propagates_unchanged(total: int) -> None:
    metatrace.configure(public_key="abc")
    baggage = _incoming_baggage(total)
    context = TraceContext(SENTRY_TRACE, baggage)
    assert context.headers()["baggage"] == baggage
    assert context.dsc["sample_rand"] == "0.5"


def test_a_request_baggage_over_the_limit_is_not_propagated() -> None:
    metatrace.configure(public_key="abc")
    context = TraceContext(SENTRY_TRACE, _incoming_baggage(HEADER_BYTES + 1))
    assert context.third_party_baggage == ()
    outgoing = formats.parse_baggage(context.headers()["baggage"])
    assert outgoing.third_party == ()
    assert outgoing.sentry["public_key"] == "abc"  # our own DSC, frozen afresh
    assert outgoing.sentry["sample_rand"] != "0.5"


@pytest.mark.parametrize("extra", [-1, 0, 1], ids=["under", "at", "over"])
def test_merged_outgoing_baggage_stays_within_8192_bytes(extra: int) -> None:
    ours = ",".join(members(HEADER_BYTES - MEMBER_BYTES, 2))
    theirs = member(MEMBER_BYTES - 1 + extra, "theirs")
    merged = merge_baggage(ours, theirs)
    assert merged == (ours if extra > 0 else f"{ours},{theirs}")


# The trace headers: 8192 bytes ----------------------------------------------------------------


def _padded(valid: str, total: int) -> str:
    return valid + " " * (total - len(valid))


@pytest.mark.parametrize("extra", [-1, 0, 1], ids=["under", "at", "over"])
def test_trace_headers_over_8192_bytes_are_not_read(extra: int) -> None:
    total = TRACE_HEADER_BYTES + extra
    expected = None if extra > 0 else formats.IncomingTrace(INCOMING_TRACE, INCOMING_SPAN, True)
    assert formats.parse_sentry_trace(_padded(SENTRY_TRACE, total)) == expected
    assert formats.parse_sentry_trace(_padded(SENTRY_TRACE + ",", total)) == expected
    assert formats.parse_traceparent(_padded(TRACEPARENT, total)) == expected
    future = f"cc-{INCOMING_TRACE}-{INCOMING_SPAN}-01-"  # a later version may append fields
    assert formats.parse_traceparent(future + "x" * (total - len(future))) == expected


@pytest.mark.parametrize("extra", [-1, 0, 1], ids=["under", "at", "over"])
def test_a_request_continues_a_trace_header_only_within_the_cap(extra: int) -> None:
    metatrace.configure(w3c=True)
    total = TRACE_HEADER_BYTES + extra
    for context in (
        TraceContext(_padded(SENTRY_TRACE, total)),
        TraceContext(traceparent=_padded(TRACEPARENT, total)),
    ):
        assert context.continued is (extra <= 0)
        assert (context.trace_id == INCOMING_TRACE) is (extra <= 0)


# Character classes: every ASCII character, in and out of each class ---------------------------

ASCII = [chr(code) for code in range(128)] + ["\x80", "\xa0", "é", "\u2028"]
HEX_DIGITS = "0123456789abcdef"
# RFC 9110 tchar, and the W3C baggage-octet, written out from the specifications.
TCHARS = "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
OCTETS = "".join(chr(c) for c in [0x21, *range(0x23, 0x2C), *range(0x2D, 0x3B)])
OCTETS += "".join(chr(c) for c in [*range(0x3C, 0x5C), *range(0x5D, 0x7F)])


def test_trace_id_digits() -> None:
    wrong = [char for char in ASCII if not _id_digit_accepted(char)]
    assert wrong == []


def _id_digit_accepted(char: str) -> bool:
    """Whether every place of an id takes `char` exactly when it is a lowercase hex digit."""
    valid = char in HEX_DIGITS
    trace_id, span_id = char + "1" * 31, char + "1" * 15
    for header, parse in (
        (f"{trace_id}-{INCOMING_SPAN}-1", formats.parse_sentry_trace),
        (f"{INCOMING_TRACE}-{span_id}-1", formats.parse_sentry_trace),
        (f"00-{trace_id}-{INCOMING_SPAN}-01", formats.parse_traceparent),
        (f"00-{INCOMING_TRACE}-{span_id}-01", formats.parse_traceparent),
        (f"{char}0-{INCOMING_TRACE}-{INCOMING_SPAN}-01", formats.parse_traceparent),
        (f"00-{INCOMING_TRACE}-{INCOMING_SPAN}-0{char}", formats.parse_traceparent),
    ):
        if (parse(header) is not None) is not valid:
            return False
    sampled = formats.parse_sentry_trace(f"{INCOMING_TRACE}-{INCOMING_SPAN}-{char}")
    return (sampled is not None) is (char in "01")


@pytest.mark.parametrize("field, length", [("trace", 32), ("span", 16)])
@pytest.mark.parametrize("extra", [-1, 0, 1], ids=["under", "at", "over"])
def test_id_lengths(field: str, length: int, extra: int) -> None:
    digits = "1" * (length + extra)
    trace_id, span_id = (digits, INCOMING_SPAN) if field == "trace" else (INCOMING_TRACE, digits)
    valid = extra == 0
    assert (formats.parse_sentry_trace(f"{trace_id}-{span_id}") is not None) is valid
    assert (formats.parse_traceparent(f"00-{trace_id}-{span_id}-01") is not None) is valid


@pytest.mark.parametrize("extra", [-1, 0, 1], ids=["under", "at", "over"])
def test_traceparent_version_and_flags_lengths(extra: int) -> None:
    two = "1" * (2 + extra)
    valid = extra == 0
    assert (
        formats.parse_traceparent(f"{two}-{INCOMING_TRACE}-{INCOMING_SPAN}-01") is not None
    ) is (valid)
    assert (
        formats.parse_traceparent(f"01-{INCOMING_TRACE}-{INCOMING_SPAN}-{two}") is not None
    ) is (valid)


@pytest.mark.parametrize("space", ["", " ", "\t"], ids=["plain", "space", "tab"])
def test_key_characters(space: str) -> None:
    for char in ASCII:
        _check_key_character(char, space)


def _check_key_character(char: str, space: str) -> None:
    spaced = bool(space)
    for key in (char, f"a{char}b"):
        # Inside a key, '=' ends it ('a=b=v' is key 'a', value 'b=v', well-formed unless
        # whitespace follows the value), and in a property ';' starts the next one.
        inside = len(key) > 1
        equals = inside and char == "=" and not spaced
        # Every reader percent-decodes keys, so one with '%' or '+' goes out in the one
        # canonical spelling (docs/readers.md, "Baggage keys").
        member = f"{formats.encode_key(unquote(key)) if char in '%+' else key}=v"
        parsed = formats.parse_baggage(f"{space}{key}{space}={space}v{space},sentinel=1")
        valid = char in TCHARS or equals
        assert (member in parsed.third_party) is valid, repr(member)
        assert "sentinel=1" in parsed.third_party  # the member after it survives either way
        prop = formats.parse_baggage(f"k=v;{space}{key}{space}={space}w").third_party
        valid = char in TCHARS or equals or (inside and char == ";")
        assert (prop == (f"k=v;{key}=w",)) is valid, repr(key)


@pytest.mark.parametrize("space", ["", " ", "\t"], ids=["plain", "space", "tab"])
def test_value_characters(space: str) -> None:
    for char in ASCII:
        _check_value_character(char, space)


def _check_value_character(char: str, space: str) -> None:
    value = f"a{char}b"
    valid = char in OCTETS or char == ";"  # a ';' starts a property: `k=a;b` is well-formed
    parsed = formats.parse_baggage(f"{space}k{space}={space}{value}{space},sentinel=1")
    assert (f"k={value}" in parsed.third_party) is valid, repr(value)
    assert "sentinel=1" in parsed.third_party
    prop = formats.parse_baggage(f"k=v;{space}p{space}={space}{value}").third_party
    assert (prop == (f"k=v;p={value}",)) is valid, repr(value)
    sentry = formats.parse_baggage(f"sentry-release={value}").sentry
    assert (sentry.get("release") == value) is (char in OCTETS), repr(value)
    # Spelled as it came, in the one-pass reading and member by member (with whitespace), with
    # an escape beside it or not: only '%' and '+' make a value that readers could decode
    # differently.
    for escaped in (value, f"{value}%41"):
        for header in (f"sentry-release={escaped}", f"{space}sentry-release={escaped}{space}"):
            encoded = formats.parse_baggage(header).sentry_encoded
            canonical = char in OCTETS and char not in "%+"
            assert (encoded == {"release": escaped}) is canonical, header


# What str.strip() removes, once decoded: 0x09-0x0D and 0x1C-0x20.
_STRIPPED = [*range(0x09, 0x0E), *range(0x1C, 0x21)]


@pytest.mark.parametrize("code", _STRIPPED, ids=[f"{code:02x}" for code in _STRIPPED])
def test_sentry_values_with_whitespace_escaped_at_an_end_are_stripped(code: int) -> None:
    for escape in (f"%{code:02x}", f"%{code:02X}"):
        for value in (f"{escape}v", f"v{escape}", f"{escape}v{escape}"):
            for header in (f"sentry-release={value}", f"sentry-release={value} "):
                assert formats.parse_baggage(header).sentry_encoded == {"release": "v"}, header
        inside = f"a{escape}b"  # kept as it came: every reader decodes it alike
        assert formats.parse_baggage(f"sentry-release={inside}").sentry_encoded == {
            "release": inside
        }


def test_values_may_be_empty_but_keys_may_not() -> None:
    # W3C: value = *baggage-octet (zero or more), key = token (one or more).
    for header in ("k=,j=1", " k = , j=1 "):
        assert formats.parse_baggage(header).third_party == ("k=", "j=1")
    assert formats.parse_baggage("k=v;p=").third_party == ("k=v;p=",)
    assert formats.parse_baggage("k=v; p = ").third_party == ("k=v;p=",)
    # An empty Sentry value is skipped: @sentry/core drops it, so no reader could agree on it.
    assert formats.parse_baggage("sentry-release=,j=1").sentry == {}
    assert formats.parse_baggage("sentry-release=x,j=1").sentry == {"release": "x"}
    for header in ("=v,j=1", " = v , j=1", "k=v;=w,j=1"):
        assert formats.parse_baggage(header).third_party == ("j=1",)


@pytest.mark.parametrize("space", [" ", "\t", " \t "], ids=["space", "tab", "mixed"])
def test_optional_whitespace_is_spaces_and_tabs(space: str) -> None:
    expected = formats.IncomingTrace(INCOMING_TRACE, INCOMING_SPAN, True)
    assert formats.parse_sentry_trace(f"{space}{SENTRY_TRACE}{space}") == expected
    assert formats.parse_traceparent(f"{space}{TRACEPARENT}{space}") == expected
    header = f"{space}k{space}={space}v{space};{space}p{space}={space}w{space};{space}q{space}"
    assert formats.parse_baggage(f"{header},{space}j=1").third_party == ("k=v;p=w;q", "j=1")
    # An empty property, as in a trailing ';', is dropped (OpenTelemetry rejects the whole
    # member for it), with or without whitespace; the member stays.
    for member in (f"k=v;{space}", f"{space}k=v;", f"k=v{space};"):
        assert formats.parse_baggage(f"{member},j=1").third_party == ("k=v", "j=1")


def test_sentry_values_with_ascii_escapes_travel_exactly_as_they_came() -> None:
    # Every edge of the hex digit ranges, in both cases, with text around and between.
    value = "a%30%39b%41%46%61%66%4a%4A%4F%2f%7e%7E%00%20c%25"
    parsed = formats.parse_baggage(f"sentry-trace_id={INCOMING_TRACE},sentry-release={value}")
    assert parsed.sentry_encoded["release"] == value
    assert parsed.sentry["release"] == "a09bAFafJJO/~~\x00 c%"
    for value in ("%41", "%41%42", "x%41", "%41x", "plain"):
        assert formats.parse_baggage(f"sentry-release={value}").sentry_encoded == {"release": value}
    # Whitespace escaped at either end, which readers strip once decoded: decoded, stripped and
    # encoded again. An empty value is skipped.
    for value, canonical in (("%20x%20", "x"), ("%09x", "x"), ("x%20", "x"), ("a%20b", "a%20b")):
        encoded = formats.parse_baggage(f"sentry-release={value}").sentry_encoded
        assert encoded == {"release": canonical}, value
    assert formats.parse_baggage("sentry-release=").sentry_encoded == {}
    # Non-ASCII escapes are checked and re-encoded canonically: there is no fast path for them.
    assert formats.parse_baggage("sentry-release=%c3%a9").sentry_encoded == {"release": "%C3%A9"}
    assert formats.parse_baggage("sentry-release=%80").sentry_encoded == {}


# The escapes of what str.strip() removes (0x09-0x0D, 0x1C-0x20), and their neighbours. In lower
# case, so that a value sent to the slow path would come back spelt in upper case.
STRIPPED = ["%09", "%0a", "%0d", "%1c", "%1f", "%20"]
KEPT = ["%08", "%0e", "%0f", "%1b", "%21"]


@pytest.mark.parametrize("escape", STRIPPED)
@pytest.mark.parametrize("where", ["start", "end"])
def test_escaped_whitespace_at_either_end_of_a_sentry_value_is_stripped(
    escape: str, where: str
) -> None:
    value = f"{escape}x" if where == "start" else f"x{escape}"
    assert formats.parse_baggage(f"sentry-release={value}").sentry_encoded == {"release": "x"}


@pytest.mark.parametrize("escape", KEPT)
@pytest.mark.parametrize("where", ["start", "end"])
def test_other_escaped_characters_at_either_end_travel_exactly_as_they_came(
    escape: str, where: str
) -> None:
    value = f"{escape}x" if where == "start" else f"x{escape}"
    assert formats.parse_baggage(f"sentry-release={value}").sentry_encoded == {"release": value}


@pytest.mark.parametrize("count, kept", [(31, True), (32, True), (33, False)])
def test_tracestate_of_up_to_32_members_travels_and_a_longer_one_is_dropped(
    count: int, kept: bool
) -> None:
    tracestate = ",".join(f"k{i}=v" for i in range(count))
    context = metatrace.continue_trace({"traceparent": TRACEPARENT, "tracestate": tracestate})
    assert context.trace_id == INCOMING_TRACE
    assert context.tracestate == (tracestate if kept else None)


# W3C Trace Context, tracestate keys: a simple key is a lowercase letter and up to 255 of
# [a-z0-9_*/-]; a multi-tenant key is a tenant (a letter or digit and up to 240 more) and
# '@' and a system (a letter and up to 13 more). Each class is tried at each of its ends.
_TAIL = ["a", "z", "0", "9", "_", "-", "*", "/"]


def _id(text: str) -> str:
    """A test id of letters, digits and escapes: pytest cannot select an id with '/' or ' '."""
    shown = "".join(c if c.isascii() and c.isalnum() else f"x{ord(c):02x}" for c in text[:8])
    return f"{shown}-len{len(text)}"


VALID_KEYS = [
    "a",
    "z",
    *(f"k{c}" for c in _TAIL),
    "a" * 256,
    *(f"{first}@s" for first in ("a", "z", "0", "9")),
    *(f"t{c}@s" for c in _TAIL),
    *(f"t@s{c}" for c in _TAIL),
    "t@a",
    "t@z",
    "t" * 241 + "@s",
    "t@" + "s" * 14,
]
INVALID_KEYS = [
    "0",
    "9",
    "_k",
    "K",
    "kA",
    "k.",
    "k`",
    "k{",
    "a" * 257,
    "_@s",
    "A@s",
    "t@0",
    "t@_",
    "t@sA",
    "t" * 242 + "@s",
    "t@" + "s" * 15,
    "t@s@s",
]


# tracestate values: up to 256 printable ASCII characters but ',' and '=', not ending in a space.
VALID_VALUES = [
    *(f"v{c}" for c in "\x21\x2b\x2d\x3c\x3e\x7e"),
    *(f"{c}v" for c in "\x20\x21\x2b\x2d\x3c\x3e\x7e"),
    "v" * 256,
]
# An empty value too: the W3C grammar needs at least one character that is not a space.
INVALID_VALUES = ["", "v=", "v\x7f", "v\x1f", "\x7fv", "\x1fv", "v" * 257, "v\x80", "v\u00e9"]


# Each member after a valid one: the whole header travels, or none of it.
TRACESTATE_MEMBERS = [
    *((f"{key}=v", True) for key in VALID_KEYS),
    *((f"{key}=v", False) for key in INVALID_KEYS),
    *((f"k={value}", True) for value in VALID_VALUES),
    *((f"k={value}", False) for value in INVALID_VALUES),
]


@pytest.mark.parametrize(
    "member, kept",
    TRACESTATE_MEMBERS,
    ids=[f"{_id(member)}-{kept}" for member, kept in TRACESTATE_MEMBERS],
)
def test_a_tracestate_member_travels_exactly_when_the_w3c_grammar_allows_it(
    member: str, kept: bool
) -> None:
    tracestate = f"other=w,{member}"
    context = metatrace.continue_trace({"traceparent": TRACEPARENT, "tracestate": tracestate})
    assert context.trace_id == INCOMING_TRACE
    assert context.tracestate == (tracestate if kept else None)
