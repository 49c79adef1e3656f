"""Property-based tests: arbitrary text and bytes in every header."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import metatrace
from metatrace._core import formats
from metatrace._core.context import TraceContext
from tests.conftest import INCOMING_SPAN, INCOMING_TRACE, encodable, trace_meta_elements
from tests.strategies import Header, baggage_headers, members, octets, percent_escapes, tokens

# Header values as text, and as raw bytes decoded the way WSGI servers do (latin-1).
header_text = st.one_of(
    st.text(),
    st.binary().map(lambda raw: raw.decode("latin-1")),
    st.text(alphabet="0123456789abcdef-, \t"),
    st.lists(st.sampled_from(["sentry-", "trace_id=", "=", ",", ";", "%", "%2", "k", " "])).map(
        "".join
    ),
)
fast = settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)


@fast
@given(header_text)
def test_parsers_never_raise(value: str) -> None:
    formats.parse_sentry_trace(value)
    formats.parse_traceparent(value)
    formats.parse_baggage(value)


@fast
@given(header_text, header_text, header_text, st.booleans())
def test_rendered_meta_is_always_exactly_the_expected_elements(
    sentry_trace: str, baggage: str, traceparent: str, w3c: bool
) -> None:
    metatrace.configure(public_key="abc", traces_sample_rate=0.5, w3c=w3c)
    context = TraceContext(sentry_trace, baggage, traceparent)
    html = str(context.meta())
    elements = trace_meta_elements(html)
    expected = ["sentry-trace", "baggage"] + (["traceparent"] if w3c else [])
    assert [element["name"] for element in elements] == expected
    assert all(set(element.attrs) == {"name", "content"} for element in elements)
    assert html.count("<") == len(expected)  # nothing else made it into the markup
    assert elements[0]["content"] == context.sentry_trace


@fast
@given(header_text, header_text, header_text)
def test_outgoing_headers_are_visible_ascii(sentry_trace: str, baggage: str, tp: str) -> None:
    metatrace.configure(public_key="abc", w3c=True)
    for value in TraceContext(sentry_trace, baggage, tp).headers().values():
        assert value and all("\x21" <= char <= "\x7e" for char in value)
        assert len(value) <= formats.BAGGAGE_MAX_BYTES


@fast
@given(header_text)
def test_baggage_parse_format_parse_is_stable(value: str) -> None:
    first = formats.parse_baggage(value)
    formatted = formats.format_baggage(first.sentry, first.third_party)
    second = formats.parse_baggage(formatted)
    # Formatting may only drop members (to stay within the limits), never change one.
    assert second.sentry.items() <= first.sentry.items()
    assert first.third_party[: len(second.third_party)] == second.third_party
    if len(formatted) < formats.BAGGAGE_MAX_BYTES // 2:
        assert (second.sentry, second.third_party) == (first.sentry, first.third_party)
    assert formats.format_baggage(second.sentry, second.third_party) == formatted


@fast
@given(header_text)
def test_whitespace_around_members_changes_nothing(value: str) -> None:
    # A plain header takes the fast split; with whitespace it is normalised first.
    if len(value) < 2000:
        spaced = " , ".join(f"\t{member} " for member in value.split(","))
        # The meaning: the spaced one is not joined as it came (sentry_members).
        assert formats.parse_baggage(spaced)[:2] == formats.parse_baggage(value)[:2]


@fast
@given(st.dictionaries(st.from_regex(r"[a-z_]{1,12}", fullmatch=True), st.text(max_size=50)))
def test_any_sentry_item_round_trips(items: dict[str, str]) -> None:
    items = {key: value for key, value in items.items() if encodable(value)}
    # Read as OpenTelemetry reads them: stripped; an empty item is skipped (docs/readers.md).
    expected = {key: value.strip() for key, value in items.items() if value.strip()}
    assert formats.parse_baggage(formats.format_baggage(items)).sentry == expected


@fast
@given(st.sampled_from(["-1", "-0", ""]), header_text)
def test_a_valid_trace_survives_any_baggage(flag: str, baggage: str) -> None:
    context = TraceContext(f"{INCOMING_TRACE}-{INCOMING_SPAN}{flag}", baggage)
    assert context.trace_id == INCOMING_TRACE
    assert context.parent_span_id == INCOMING_SPAN


# Members of the shapes the one-pass reading of a header takes, and the shapes next to them
# that it must leave to the member-by-member one: a decoded key, a sentry value to decode or
# re-encode, a property on a sentry member, an empty field, a field no reader can hold.
_near_simple_values = st.one_of(
    octets(),
    percent_escapes(),
    st.sampled_from(["%20x", "x%20", "%0Ax", "x%0a", "%7e", "a+b", "%C3%A9", "%c3%a9", "%FF"]),
    st.sampled_from(["%2", "=x=", "%1C", "x%1c", "%09", "0.5", "true", "'&<>'"]),
)
_near_simple_members = st.one_of(
    members(keys=tokens(percent=False), spaced=False),
    members(keys=tokens(), spaced=False),
    members(
        keys=st.sampled_from(
            [
                "sentry-trace_id",
                "sentry-release",
                "sentry-__proto__",
                "sentry-",
                "sentry-a-b",
                "sentry%2Drelease",
                "Sentry-release",
                "sentry-x+y",
                "sentry-sample_rand",
            ]
        ),
        values=_near_simple_values,
        spaced=False,
    ),
)


def assert_same_reading(simple: formats.Baggage, header: str) -> None:
    """The one-pass reading is the member-by-member one, and the sentry members it keeps as
    they came are what fit_sentry would join."""
    parsed = formats._parsed_members(header)
    assert (simple.sentry_encoded, simple.third_party) == (
        parsed.sentry_encoded,
        parsed.third_party,
    )
    assert list(simple.sentry_encoded) == list(parsed.sentry_encoded)  # the order too
    if simple.sentry_members is not None:
        assert simple.sentry_members == formats.fit_sentry(dict(simple.sentry_encoded))[1]


@fast
@given(baggage_headers(_near_simple_members, max_members=12, unique=False))
def test_the_one_pass_reading_agrees_with_the_member_by_member_one(header: Header) -> None:
    simple = formats._simple_baggage(header.text)
    if simple is not None:
        assert_same_reading(simple, header.text)
    assert_same_reading(formats.parse_baggage(header.text), header.text)


@pytest.mark.parametrize(
    "header",
    [
        "sentry-__proto__=x,sentry-release=1",
        "a=1,sentry-release=1,b=2,a=3,sentry-release=2,sentry-environment=p",
        "sentry-release=%7Bx%7D,k=v;p;q=%20",
    ],
)
def test_the_one_pass_reading_of_repeats_and_unreadable_fields(header: str) -> None:
    simple = formats._simple_baggage(header)
    assert simple is not None
    assert_same_reading(simple, header)


@pytest.mark.parametrize(
    "header, members",
    [
        ("sentry-release=1,x=2", "sentry-release=1"),
        ("sentry-release=1,sentry-environment=p", "sentry-release=1,sentry-environment=p"),
        ("x=2,sentry-release=1", None),  # a vendor's member first
        ("sentry-release=1,x=2,sentry-environment=p", None),
        ("sentry-release=1,sentry-release=2", None),  # a repeat: the dict keeps one
        ("sentry-release=1,x=2,x=3", None),  # a vendor's repeat: its members are not the tail
        ("sentry-release=1,sentry-sampled=true,x=2;p=1", "sentry-release=1,sentry-sampled=true"),
        ("x=2", ""),
        ("sentry-__proto__=1,sentry-release=2", None),
        ("sentry-foo-bar=1", None),  # not Sentry's own field: fit_sentry encodes its '-'
        ("y=1,sentry-release=y=1", None),  # the vendor's text ends the header, not after a comma
    ],
)
def test_the_sentry_members_are_kept_as_they_came_only_when_joined_alike(
    header: str, members: str | None
) -> None:
    simple = formats._simple_baggage(header)
    assert simple is not None
    assert simple.sentry_members == members
    assert_same_reading(simple, header)


@fast
@given(header_text)
def test_the_one_pass_reading_agrees_on_any_text(value: str) -> None:
    simple = formats._simple_baggage(value)
    if simple is not None:
        assert_same_reading(simple, value)


def test_the_common_headers_take_the_one_pass_reading() -> None:
    """What sentry-python and metatrace itself send: the one-pass reading, or the speed of
    the continued trace (bench/) is lost without a test noticing."""
    from sentry_sdk.tracing_utils import Baggage as SentryBaggage

    items = {
        "trace_id": INCOMING_TRACE,
        "public_key": "49d0f7386ad645858ae85020e393bef3",
        "release": "shop@1.4.2",
        "environment": "production",
        "transaction": "GET /checkout/{step}",
        "sample_rate": "0.25",
        "sample_rand": "0.123456",
        "sampled": "true",
    }
    sentry_python = SentryBaggage(items, third_party_items="vendor=a%20b;p=1").serialize(
        include_third_party=True
    )
    metatrace.configure(public_key="abc", release="shop@1.4.2", traces_sample_rate=0.5)
    ours = TraceContext(f"{INCOMING_TRACE}-{INCOMING_SPAN}-1", sentry_python).headers()["baggage"]
    for header in (sentry_python, ours):
        simple = formats._simple_baggage(header)
        assert simple is not None, header
        assert_same_reading(simple, header)
        assert simple.sentry_members is not None, header  # not joined again
        assert simple.sentry == items
        assert simple.third_party == ("vendor=a%20b;p=1",)
