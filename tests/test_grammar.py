"""Properties over headers built from the wire grammars (tests/strategies.py), then perturbed:
valid-but-odd headers that reach the parsers' deep branches."""

from __future__ import annotations

from urllib.parse import unquote

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import metatrace
from metatrace._core import formats
from metatrace._core.context import TraceContext
from tests import strategies as grammar
from tests.conftest import parse_trace_meta

deep = settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow], deadline=None)
# Third-party keys: not `sentry-` (those are sentry items), without '%', whose decoding in
# keys is a separate rule (tested by example in tests/core/test_formats.py), and not
# `__proto__`, which is dropped (tested by example in test_differential.py).
third_party_keys = grammar.tokens(percent=False).filter(
    lambda key: not key.startswith("sentry-") and key != "__proto__"
)
third_party = grammar.members(keys=third_party_keys)


def _parsed(header: grammar.Header) -> tuple[dict[str, str], tuple[str, ...]]:
    """What a correct parser makes of a header of unique, well-formed members."""
    sentry = {}
    others = []
    for member in header.members:
        if member.key.startswith("sentry-"):
            # The reference decoding, not the parser's own; stripped, as OpenTelemetry reads
            # it, and skipped when empty, as @sentry/core does (docs/readers.md).
            value = unquote(member.value, errors="strict").strip()
            if value:
                sentry[member.key.removeprefix("sentry-")] = value
        else:
            others.append(member.normal)
    return sentry, tuple(others)


# Trace headers ----------------------------------------------------------------------------------


@deep
@given(grammar.sentry_traces())
def test_sentry_trace_parses_to_its_parts(trace: grammar.Trace) -> None:
    expected = formats.IncomingTrace(trace.trace_id, trace.span_id, trace.sampled)
    assert formats.parse_sentry_trace(trace.text) == expected
    text = trace.text.strip(" \t")
    assert formats.format_sentry_trace(*expected) == text


@deep
@given(grammar.sentry_traces(), st.lists(grammar.ows(), max_size=3), grammar.sentry_traces())
def test_of_repeated_sentry_traces_the_first_non_empty_counts(
    first: grammar.Trace, empties: list[str], second: grammar.Trace
) -> None:
    value = ",".join([*empties, first.text, second.text])
    assert formats.parse_sentry_trace(value) == (first.trace_id, first.span_id, first.sampled)


@deep
@given(grammar.traceparents())
def test_traceparent_parses_to_its_parts(trace: grammar.Trace) -> None:
    expected = formats.IncomingTrace(trace.trace_id, trace.span_id, trace.sampled)
    assert formats.parse_traceparent(trace.text) == expected
    # What we send is version 00 with only the sampled bit.
    sent = formats.format_traceparent(*expected)
    assert formats.parse_traceparent(sent) == expected
    assert sent.endswith("-01" if trace.sampled else "-00")


@deep
@given(
    st.one_of(grammar.sentry_traces(padded=False), grammar.traceparents(padded=False)),
    st.lists(st.integers(0, 200), min_size=1, max_size=4),
)
def test_uppercase_anywhere_in_an_id_makes_a_trace_header_invalid(
    trace: grammar.Trace, positions: list[int]
) -> None:
    ids = trace.text.index(trace.trace_id), trace.text.index(trace.span_id) + 16
    core = trace.text[ids[0] : ids[1]]  # the trace id, a dash and the span id
    flipped = grammar.flip_case(core, positions)
    assume(flipped != core)
    value = trace.text[: ids[0]] + flipped + trace.text[ids[1] :]
    parse = formats.parse_traceparent if trace.text[2] == "-" else formats.parse_sentry_trace
    assert parse(value) is None


@deep
@given(grammar.sentry_traces(padded=False), st.integers(0, 60))
def test_a_truncated_sentry_trace_is_read_only_at_a_field_boundary(
    trace: grammar.Trace, keep: int
) -> None:
    cut = grammar.truncate(trace.text, keep)
    parsed = formats.parse_sentry_trace(cut)
    if len(cut) == 49:  # the trace id, a dash and the span id: the flag is optional
        assert parsed == (trace.trace_id, trace.span_id, None)
    else:
        assert parsed is None


@deep
@given(grammar.traceparents(padded=False), st.integers(0, 60))
def test_a_truncated_traceparent_is_never_read(trace: grammar.Trace, keep: int) -> None:
    cut = grammar.truncate(trace.text, keep)
    assume(len(cut) < 55)  # past 55 only the optional future part is cut
    assert formats.parse_traceparent(cut) is None


@deep
@given(grammar.sentry_traces(padded=False), st.integers(0, 60), st.sampled_from(" \t,;=x"))
def test_a_character_inside_a_sentry_trace_makes_it_invalid(
    trace: grammar.Trace, position: int, extra: str
) -> None:
    index = 1 + position % (len(trace.text) - 1)  # strictly inside
    value = grammar.insert(trace.text, index, extra)
    if extra == ",":
        # Two values, of which the first non-empty one counts: the head, which is cut short.
        assert formats.parse_sentry_trace(value) == formats.parse_sentry_trace(value[:index])
    else:
        assert formats.parse_sentry_trace(value) is None


@deep
@given(grammar.sentry_traces(), grammar.traceparents(), st.booleans())
def test_a_request_continues_the_grammar_built_trace(
    sentry: grammar.Trace, w3c: grammar.Trace, both: bool
) -> None:
    metatrace.configure(public_key="abc", w3c=True)
    context = TraceContext(sentry.text if both else None, None, w3c.text)
    expected = sentry if both else w3c
    assert (context.trace_id, context.parent_span_id, context.sampled) == (
        expected.trace_id,
        expected.span_id,
        expected.sampled,
    )
    tags = parse_trace_meta(str(context.meta()))
    assert tags["sentry-trace"] == context.sentry_trace
    assert tags["traceparent"] == context.traceparent
    assert formats.parse_baggage(tags["baggage"]).sentry["trace_id"] == expected.trace_id


# Baggage ---------------------------------------------------------------------------------------


@deep
@given(grammar.baggage_headers(st.one_of(third_party, grammar.sentry_members())))
def test_every_member_survives_in_order(header: grammar.Header) -> None:
    sentry, others = _parsed(header)
    parsed = formats.parse_baggage(header.text)
    assert parsed.sentry == sentry
    assert parsed.third_party == others


@deep
@given(grammar.baggage_headers(grammar.members(keys=third_party_keys, spaced=False)))
def test_the_plain_and_the_spaced_header_parse_alike(header: grammar.Header) -> None:
    spaced = " , ".join(f"\t{member.text} " for member in header.members)
    assert formats.parse_baggage(spaced)[:2] == formats.parse_baggage(header.text)[:2]


@deep
@given(
    grammar.baggage_headers(st.one_of(third_party, grammar.sentry_members())),
    st.lists(st.tuples(st.integers(0, 20), grammar.malformed_members()), min_size=1, max_size=4),
)
def test_malformed_members_never_spoil_the_rest(
    header: grammar.Header, bad: list[tuple[int, str]]
) -> None:
    parts = [member.text for member in header.members]
    for position, member in bad:
        parts.insert(position % (len(parts) + 1), member)
    parsed = formats.parse_baggage(",".join(parts))
    sentry, others = _parsed(header)
    assert parsed.sentry == sentry
    assert parsed.third_party == others


@deep
@given(grammar.baggage_headers(third_party), st.integers(0, 20), grammar.octets())
def test_a_repeated_key_keeps_its_place_and_takes_the_last_value(
    header: grammar.Header, index: int, value: str
) -> None:
    text, again = grammar.duplicated(header, index, value)
    expected = [again.normal if m.key == again.key else m.normal for m in header.members]
    assert formats.parse_baggage(text).third_party == tuple(expected)


@deep
@given(grammar.baggage_headers(st.one_of(third_party, grammar.sentry_members())))
def test_parse_format_parse_is_the_identity(header: grammar.Header) -> None:
    first = formats.parse_baggage(header.text)
    formatted = formats.format_baggage(first.sentry, first.third_party)
    second = formats.parse_baggage(formatted)
    # Equal as text: an ASCII escape may come back in another case (%1f, %1F).
    assert (second.sentry, second.third_party) == (first.sentry, first.third_party)
    # Sentry items first, then third-party members, each once.
    keys = [member.partition("=")[0] for member in formatted.split(",")]
    assert len(keys) == len(set(keys))
    sentry_count = len(first.sentry)
    assert all(key.startswith("sentry-") for key in keys[:sentry_count])


@deep
@given(grammar.baggage_headers(third_party), st.integers(0, 10_000))
def test_a_truncated_header_keeps_the_members_before_the_cut(
    header: grammar.Header, keep: int
) -> None:
    cut = grammar.truncate(header.text, keep)
    whole = sum(1 for end in _member_ends(header) if end <= len(cut))
    # Every member wholly before the cut survives; the one cut short may or may not be valid.
    parsed = formats.parse_baggage(cut).third_party
    assert parsed[:whole] == tuple(m.normal for m in header.members[:whole])


def _member_ends(header: grammar.Header) -> list[int]:
    ends, position = [], 0
    for member in header.members:
        position += len(member.text)
        ends.append(position)
        position += 1  # the comma
    return ends


@deep
@given(grammar.sentry_fields(), st.text(st.characters(exclude_categories=["Cs"])))
def test_escaped_sentry_values_decode_whatever_the_case_of_their_hex(field: str, text: str) -> None:
    upper = formats.encode_value(text)
    lower = grammar._lower_escapes(upper)
    expected = {field: text.strip()} if text.strip() else {}  # stripped; empty is skipped
    for value in (upper, lower):
        assert formats.parse_baggage(f"sentry-{field}={value}").sentry == expected


@deep
@given(grammar.baggage_headers(third_party), grammar.sentry_fields())
def test_an_escaped_sentry_prefix_is_a_sentry_item_and_spoils_nothing(
    header: grammar.Header, field: str
) -> None:
    # Every reader decodes keys, so `%73entry-x` is the Sentry item x, never a third-party
    # member that the next hop would read as Sentry's; the other members are unaffected.
    escaped = grammar.escape_first(f"sentry-{field}")
    parsed = formats.parse_baggage(f"{header.text},{escaped}=1")
    _sentry, others = _parsed(header)
    assert parsed.sentry == {field: "1"}
    assert parsed.third_party == others
