"""Hypothesis strategies built from the wire formats' grammars, and perturbations of them.

Random text almost never forms a valid header, so properties over `st.text()` stay in the
parsers' first `return None`. These strategies build values from the grammars themselves
(W3C Trace Context, W3C Baggage, Sentry's `sentry-trace`), so that every part of a parser is
reached, and then perturb them (case flips, whitespace, duplicates, truncation, escapes) to
reach the branches that tell a valid-but-odd header from a malformed one.

They know nothing of metatrace: they return the wire text and what a correct parser must make
of it, so any implementation (sentry-python, OpenTelemetry, @sentry/core) can be checked
against them. Grammar references:

- sentry-trace:  `TRACE_ID "-" SPAN_ID [ "-" ( "0" / "1" ) ]`, lowercase hex, 32 and 16 digits.
- traceparent:   `VERSION "-" TRACE_ID "-" PARENT_ID "-" FLAGS [ "-" FUTURE ]`, lowercase hex;
                 version `ff` is invalid and version `00` has no FUTURE part.
- baggage:       `list-member *( OWS "," OWS list-member )`, where
                 `list-member = key OWS "=" OWS value *( OWS ";" OWS property )`,
                 `key = token` (RFC 9110 tchar), `value = *baggage-octet`,
                 `property = key OWS "=" OWS value / key`, `OWS = *( SP / HTAB )`,
                 `baggage-octet = %x21 / %x23-2B / %x2D-3A / %x3C-5B / %x5D-7E`.

Ids are never all zero (both formats reject those). Generated sentry field names exclude
`sample_rand`, whose values a receiver may validate, so that round trips stay exact.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from hypothesis import strategies as st

HEX_DIGITS = "0123456789abcdef"
# RFC 9110 tchar: the characters of a token (a baggage key or property name).
TCHARS = "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
# W3C baggage-octet: visible ASCII except DQUOTE, comma, semicolon and backslash.
BAGGAGE_OCTETS = "".join(chr(code) for code in range(0x21, 0x7F) if chr(code) not in '",;\\')
OWS_CHARS = " \t"
# Characters that make a key or value malformed where they stand.
SEPARATORS = '"(),/:;<=>?@[\\]{} \t'


def hex_ids(length: int) -> st.SearchStrategy[str]:
    """Lowercase hex ids of `length` digits, not all zero; edge values come up often."""
    edges = st.sampled_from(["0" * (length - 1) + "1", "f" * length, "8" + "0" * (length - 1)])
    drawn = st.text(HEX_DIGITS, min_size=length, max_size=length)
    return st.one_of(edges, drawn).filter(lambda value: value.strip("0") != "")


def trace_ids() -> st.SearchStrategy[str]:
    return hex_ids(32)


def span_ids() -> st.SearchStrategy[str]:
    return hex_ids(16)


def ows(max_size: int = 3) -> st.SearchStrategy[str]:
    """Optional whitespace: spaces and tabs, often none."""
    return st.one_of(st.just(""), st.text(OWS_CHARS, min_size=1, max_size=max_size))


@dataclass(frozen=True)
class Trace:
    """A trace header on the wire and what it means."""

    text: str
    trace_id: str
    span_id: str
    sampled: bool | None


@st.composite
def sentry_traces(draw: st.DrawFn, padded: bool = True) -> Trace:
    """Valid `sentry-trace` values, optionally with OWS around them."""
    trace_id, span_id = draw(trace_ids()), draw(span_ids())
    sampled = draw(st.sampled_from([None, True, False]))
    text = f"{trace_id}-{span_id}" + ("" if sampled is None else "-1" if sampled else "-0")
    if padded:
        text = draw(ows()) + text + draw(ows())
    return Trace(text, trace_id, span_id, sampled)


@st.composite
def traceparents(draw: st.DrawFn, padded: bool = True) -> Trace:
    """Valid `traceparent` values: any flags byte (bit 0 is `sampled`), any version but ff,
    and for versions after 00 an optional future suffix of visible ASCII."""
    trace_id, span_id = draw(trace_ids()), draw(span_ids())
    version = draw(st.one_of(st.just("00"), hex_ids(2).filter(lambda v: v != "ff")))
    flags = draw(st.text(HEX_DIGITS, min_size=2, max_size=2))
    future = ""
    if version != "00" and draw(st.booleans()):
        future = "-" + draw(st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E)))
    text = f"{version}-{trace_id}-{span_id}-{flags}{future}"
    if padded:
        text = draw(ows()) + text + draw(ows())
    return Trace(text, trace_id, span_id, bool(int(flags, 16) & 1))


def tokens(*, percent: bool = True, max_size: int = 12) -> st.SearchStrategy[str]:
    """Baggage keys (RFC 9110 tokens). `percent=False` leaves out '%' and '+', which readers
    decode in keys (so such a key goes out in a canonical spelling: docs/readers.md), for
    properties whose expected result must not depend on that rule."""
    alphabet = TCHARS if percent else TCHARS.replace("%", "").replace("+", "")
    return st.text(alphabet, min_size=1, max_size=max_size)


def octets(max_size: int = 20) -> st.SearchStrategy[str]:
    """Baggage values as they travel: baggage-octets, possibly empty."""
    return st.text(BAGGAGE_OCTETS, max_size=max_size)


def percent_escapes(text: st.SearchStrategy[str] | None = None) -> st.SearchStrategy[str]:
    """Text (any Unicode that UTF-8 can carry) percent-encoded, with upper- or lowercase hex:
    a value whose decoding is the drawn text."""
    source = text if text is not None else st.text(st.characters(exclude_categories=["Cs"]))
    return st.tuples(source, st.booleans()).map(
        lambda pair: _lower_escapes(quote(pair[0], safe="")) if pair[1] else quote(pair[0], safe="")
    )


def _lower_escapes(text: str) -> str:
    parts = text.split("%")
    return parts[0] + "".join("%" + part[:2].lower() + part[2:] for part in parts[1:])


@dataclass(frozen=True)
class Member:
    """A baggage list-member: its parts, its wire text (with OWS), and its normal form."""

    key: str
    value: str
    properties: tuple[str, ...]  # normal form of each: `name` or `name=value`, or ""
    text: str

    @property
    def normal(self) -> str:
        """Whitespace removed, and empty properties too: W3C's grammar has none, and
        OpenTelemetry rejects the whole member for one."""
        props = "".join(";" + prop for prop in self.properties if prop)
        return f"{self.key}={self.value}{props}"


@st.composite
def properties(draw: st.DrawFn) -> tuple[str, str]:
    """One property: (wire text after the ';', normal form). Empty properties are allowed,
    as in a trailing ';'."""
    kind = draw(st.sampled_from(["key", "key=value", "empty"]))
    if kind == "empty":
        space = draw(ows())
        return space, ""
    key = draw(tokens())
    if kind == "key":
        return draw(ows()) + key + draw(ows()), key
    value = draw(octets())
    text = draw(ows()) + key + draw(ows()) + "=" + draw(ows()) + value + draw(ows())
    return text, f"{key}={value}"


@st.composite
def members(
    draw: st.DrawFn,
    keys: st.SearchStrategy[str] | None = None,
    values: st.SearchStrategy[str] | None = None,
    spaced: bool = True,
) -> Member:
    """Well-formed list-members, with OWS wherever the grammar allows it (if `spaced`)."""
    key = draw(keys if keys is not None else tokens())
    value = draw(values if values is not None else octets())
    space = ows() if spaced else st.just("")
    props = draw(st.lists(properties(), max_size=3)) if draw(st.booleans()) else []
    text = draw(space) + key + draw(space) + "=" + draw(space) + value
    for wire, _normal in props:
        text += draw(space) + ";" + (wire if spaced else wire.strip(OWS_CHARS))
    text += draw(space)
    return Member(key, value, tuple(normal for _wire, normal in props), text)


def sentry_fields() -> st.SearchStrategy[str]:
    """Sentry DSC field names (`sentry-` is prefixed by the caller), not `sample_rand`."""
    known = st.sampled_from(["trace_id", "public_key", "release", "environment", "sampled"])
    other = st.from_regex(r"[a-z][a-z_]{0,11}", fullmatch=True)
    return st.one_of(known, other).filter(lambda name: name != "sample_rand")


def sentry_members(spaced: bool = True) -> st.SearchStrategy[Member]:
    """`sentry-FIELD=VALUE` members whose values are percent-escaped text."""
    return members(
        keys=sentry_fields().map(lambda field: "sentry-" + field),
        values=percent_escapes(),
        spaced=spaced,
    )


@dataclass(frozen=True)
class Header:
    """A baggage header and the members it is made of, in order."""

    text: str
    members: tuple[Member, ...]


@st.composite
def baggage_headers(
    draw: st.DrawFn,
    member: st.SearchStrategy[Member] | None = None,
    max_members: int = 8,
    unique: bool = True,
) -> Header:
    """Baggage headers of well-formed members joined by `OWS "," OWS`. With `unique`, no key
    repeats, so every member must come out, in order."""
    source = member if member is not None else st.one_of(members(), sentry_members())
    drawn = draw(
        st.lists(
            source,
            min_size=1,
            max_size=max_members,
            unique_by=(lambda m: m.key) if unique else None,
        )
    )
    return Header(",".join(m.text for m in drawn), tuple(drawn))


@st.composite
def malformed_members(draw: st.DrawFn) -> str:
    """List-members that break the grammar in one place, and contain no comma (so that they
    stay one member): a separator in the key, a forbidden octet in the value, no '=', an empty
    key, a malformed property, or non-ASCII text."""
    key, value = draw(tokens()), draw(octets())
    # A forbidden character strictly inside the value: at an end, a space or tab is OWS.
    bad_value_char = draw(st.sampled_from('" \\\t'))
    kind = draw(st.sampled_from(["key", "value", "no-equals", "empty-key", "property", "text"]))
    if kind == "key":
        bad = draw(st.sampled_from(SEPARATORS.replace(",", "").replace("=", "")))
        return f"{key[:1]}{bad}{key[1:] or 'k'}={value}"
    if kind == "value":
        return f"{key}=a{bad_value_char}b{value}"
    if kind == "no-equals":
        return key
    if kind == "empty-key":
        return f"={value}"
    if kind == "property":
        bad_property = draw(st.sampled_from(["=v", "a b", "p=v w", 'p="q"']))
        return f"{key}={value};{bad_property}"
    return f"{key}={value}{draw(st.characters(min_codepoint=0x80, exclude_categories=['Cs']))}"


# Perturbations ---------------------------------------------------------------------------------


def flip_case(text: str, positions: list[int]) -> str:
    """`text` with the letters at `positions` (taken modulo its length) in the other case."""
    chars = list(text)
    for position in positions:
        if chars:
            index = position % len(chars)
            chars[index] = chars[index].swapcase()
    return "".join(chars)


def insert(text: str, position: int, extra: str) -> str:
    """`extra` inserted into `text` at `position` (modulo its length + 1)."""
    index = position % (len(text) + 1)
    return text[:index] + extra + text[index:]


def truncate(text: str, keep: int) -> str:
    """The first `keep` characters (modulo the length): a header cut short."""
    return text[: keep % max(len(text), 1)]


def escape_first(text: str) -> str:
    """`text` with its first character percent-escaped (even if it needed no escaping)."""
    return f"%{ord(text[0]):02X}{text[1:]}" if text and ord(text[0]) < 0x80 else text


def duplicated(header: Header, index: int, value: str) -> tuple[str, Member]:
    """The header with a member repeated at the end under the same key and a new `value`:
    (the new header text, the repeated member)."""
    original = header.members[index % len(header.members)]
    again = Member(original.key, value, (), f"{original.key}={value}")
    return f"{header.text},{again.text}", again
