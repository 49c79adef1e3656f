"""Wire formats: parse and format sentry-trace, traceparent and baggage.

Pure functions with no state and no I/O. Parsers return None (or an empty result) for
anything malformed and never raise on str input; every regex here is linear.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import NamedTuple
from urllib.parse import quote, unquote

from .names import SENTRY_PREFIX

# Limits shared with OpenTelemetry (see docs/maintainers/design.md, "baggage").
BAGGAGE_MAX_BYTES = 8192
BAGGAGE_MAX_MEMBERS = 180
BAGGAGE_MAX_MEMBER_BYTES = 4096

# No valid sentry-trace or traceparent comes near this; longer ones are not even looked at.
TRACE_HEADER_MAX_BYTES = 8192

# W3C Trace Context: a tracestate of more list members or characters is dropped whole.
TRACESTATE_MAX_MEMBERS = 32
TRACESTATE_MAX_CHARS = 512

_PREFIX_LENGTH = len(SENTRY_PREFIX)


class IncomingTrace(NamedTuple):
    """A trace that may be continued: ids of the sender and its sampling decision."""

    trace_id: str
    parent_span_id: str
    sampled: bool | None  # None: the decision is deferred


class Baggage(NamedTuple):
    # decoded field -> value as it travels: percent-encoded, and read alike by every reader
    sentry_encoded: dict[str, str]
    third_party: tuple[str, ...]  # normalised `key=value[;props]` members, keys canonical
    # The sentry items' members as the header carried them, when that is exactly what
    # `fit_sentry` makes of them (None: not known), so that they need not be joined again.
    sentry_members: str | None = None

    @property
    def sentry(self) -> dict[str, str]:
        """The sentry items decoded: Sentry's dynamic sampling context."""
        return {field: decode_value(value) for field, value in self.sentry_encoded.items()}


EMPTY_BAGGAGE = Baggage({}, ())
# tuple.__new__: a NamedTuple's own __new__ is a Python function, half the cost of making one
# in the hot paths (here and in context.py).
new_tuple = tuple.__new__

_OWS = " \t"
ZERO_TRACE = "0" * 32  # invalid ids (W3C)
ZERO_SPAN = "0" * 16

_SENTRY_TRACE_RE = re.compile(r"[ \t]*([0-9a-f]{32})-([0-9a-f]{16})(?:-([01]))?[ \t]*")
# Version, trace id, parent id, flags, and what a future version may append.
_TRACEPARENT_RE = re.compile(
    r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-[\x20-\x7e]*)?"
)
# W3C baggage: token key, baggage-octet value, optional properties; OWS around the parts.
# The value class excludes ';' and the key class excludes '=', so nothing needs to backtrack:
# possessive repeats of the classes (`++`, `*+`) say so, and make matching faster. (Only of
# classes: Python before 3.11.5 mis-matches possessive repeats of groups, gh-106052.)
# An RFC 9110 token (baggage keys, Server-Timing names).
TOKEN = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]++"
_OCTETS = r"[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]*+"
_MEMBER_RE = re.compile(rf"[ \t]*({TOKEN})[ \t]*=[ \t]*({_OCTETS})[ \t]*((?:;[^,]*)?)")
_UNRESERVED_RE = re.compile(r"[A-Za-z0-9_.~-]*")
# A header with no optional whitespace at all, the common case, is split without a regex
# per member. Keys hold no '=' ',' ';' and values no ',' ';', so this cannot backtrack.
_PLAIN_MEMBER = rf"{TOKEN}={_OCTETS}(?:;{TOKEN}(?:={_OCTETS})?)*"
_PLAIN_HEADER_RE = re.compile(rf"{_PLAIN_MEMBER}(?:,{_PLAIN_MEMBER})*")
# A sentry value that every reader decodes to the same text as it came: not empty, no '+'
# (OpenTelemetry reads a space), only ASCII escapes (they decode without error), and no escape
# of what str.strip() removes at either end. Runs of plain octets between escapes: a repeat of
# a class, not of a group.
_SPACE_ESCAPE = r"%(?:0[9a-dA-D]|1[c-fC-F]|20)"
_PLAIN_OCTET = r"[\x21\x23\x24\x26-\x2a\x2d-\x3a\x3c-\x5b\x5d-\x7e]"  # no '%' or '+'
_CANONICAL_VALUE = (
    rf"(?!{_SPACE_ESCAPE})(?={_PLAIN_OCTET}|%)"
    rf"{_PLAIN_OCTET}*+(?:%[0-7][0-9A-Fa-f]{_PLAIN_OCTET}*+)*(?<!{_SPACE_ESCAPE})"
)
_CANONICAL_VALUE_RE = re.compile(_CANONICAL_VALUE)
# The common header, read with two C-level scans and no Python loop: no optional whitespace,
# no key that readers decode ('%' or '+'), and sentry values that are canonical as they came.
_PLAIN_KEY = r"[!#$&'*\-.^_`|~0-9A-Za-z]++"
# In the header after a comma, whole members only: (field, value) of each simple sentry member,
# (key, member) of each simple other one. A literal first character lets the engine skip
# from comma to comma; when the two together match once per comma, the header is simple.
_SENTRY_ITEMS_RE = re.compile(rf",sentry-({_PLAIN_KEY})=({_CANONICAL_VALUE})(?![^,])")
# (Not `__proto__`, which _parsed_members drops: see _UNREADABLE_FIELDS.)
_OTHER_MEMBERS_RE = re.compile(
    rf",(?!sentry-|__proto__=)(?=({_PLAIN_KEY})=)"
    rf"({_PLAIN_KEY}={_OCTETS}(?:;{TOKEN}(?:={_OCTETS})?)*)(?![^,])"
)
# A property is `key` or `key=value`; an empty one (as in a trailing ';') is dropped, since
# W3C's grammar has none and OpenTelemetry rejects the whole member for it.
_PROPERTY_RE = re.compile(rf"[ \t]*(?:({TOKEN})(?:[ \t]*=[ \t]*({_OCTETS}))?[ \t]*)?")
# Keys: every reader percent-decodes them (sentry-python and @sentry/core per key,
# OpenTelemetry with unquote_plus). A canonical key encodes all but the token characters
# that no reader changes: never '%' or '+' (OpenTelemetry reads '+' as a space).
_KEY_SAFE = "!#$&'*^`|~"  # quote() keeps letters, digits and "_.-~" anyway
# Fields written as they are; any other is encoded, '-' too: sentry-python takes the field
# up to the next '-' (`key.split("-")[1]`).
_PLAIN_FIELD_RE = re.compile(r"[A-Za-z0-9_.~]++")
# The fields Sentry's SDKs send, written as they are without a check.
KNOWN_FIELDS = frozenset(
    {
        "trace_id",
        "public_key",
        "sample_rate",
        "sample_rand",
        "sampled",
        "release",
        "environment",
        "transaction",
        "org_id",
        "replay_id",
        "user_segment",
    }
)
# A JavaScript object drops a "__proto__" property: @sentry/core could never see that field,
# nor a third-party member of that name, which the other readers would see: it is dropped.
_UNREADABLE_FIELDS = frozenset({"__proto__"})
# W3C tracestate list member: simple or multi-tenant key, then up to 256 printable characters.
_TRACESTATE_MEMBER_RE = re.compile(
    r"(?:[a-z][_0-9a-z\-*/]{0,255}|[a-z0-9][_0-9a-z\-*/]{0,240}@[a-z][_0-9a-z\-*/]{0,13})"
    r"=[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]"
)


_HEX_RE = re.compile(r"[0-9a-f]+")


def is_id(value: object, length: int) -> bool:
    """Whether `value` is a W3C id of `length` hex digits: lowercase, not all zeros (for ids
    that come from elsewhere than a header this module parses)."""
    return (
        isinstance(value, str)
        and len(value) == length
        and _HEX_RE.fullmatch(value) is not None
        and value.strip("0") != ""
    )


def parse_sentry_trace(value: str) -> IncomingTrace | None:
    """Parse `TRACE_ID-SPAN_ID[-SAMPLED]`; of several comma-joined values, the first non-empty."""
    if len(value) > TRACE_HEADER_MAX_BYTES:
        return None
    if "," in value:
        part = next((part for part in value.split(",") if part.strip(_OWS)), "")
    else:
        part = value
    match = _SENTRY_TRACE_RE.fullmatch(part)
    if match is None:
        return None
    trace_id, span_id, flag = match.groups()
    if trace_id == ZERO_TRACE or span_id == ZERO_SPAN:
        return None
    return new_tuple(IncomingTrace, (trace_id, span_id, None if flag is None else flag == "1"))


def parse_traceparent(value: str) -> IncomingTrace | None:
    """Parse a W3C `traceparent`: `VERSION-TRACE_ID-PARENT_ID-FLAGS`."""
    if len(value) > TRACE_HEADER_MAX_BYTES:
        return None
    match = _TRACEPARENT_RE.fullmatch(value.strip(_OWS))
    if match is None:
        return None
    version, trace_id, span_id, flags, rest = match.groups()
    if version == "ff" or (version == "00" and rest is not None):
        return None
    if trace_id == ZERO_TRACE or span_id == ZERO_SPAN:
        return None
    return IncomingTrace(trace_id, span_id, bool(int(flags, 16) & 1))


def parse_baggage(value: str) -> Baggage:
    """Split a `baggage` header into sentry items and normalised third-party members.

    Keys are classified after percent-decoding, as every reader decodes them: `sentry%2Dx`
    and `sentry-x` are both the Sentry item `x`. An oversized header is ignored whole; a
    malformed or oversized member is skipped. For repeated keys (compared decoded) the last
    value wins, at the position of the first.
    """
    if len(value) > BAGGAGE_MAX_BYTES or (
        not value.isascii() and len(value.encode("utf-8", "surrogatepass")) > BAGGAGE_MAX_BYTES
    ):
        return EMPTY_BAGGAGE
    simple = _simple_baggage(value)
    return simple if simple is not None else _parsed_members(value)


def fit_tracer_baggage(value: str) -> tuple[Baggage, str]:
    """A tracer's own `baggage` header (what came in, and the members it added), parsed, and
    the header that goes out. Within the bound it is `parse_baggage` and the header as it is.
    Over it (a tracer adds its member to a header near the bound), what is read keeps the
    sentry members, then the third-party members that still fit, and the header is theirs,
    as metatrace writes one: the bound protects readers, and the trace's DSC must not be lost
    for another vendor's members."""
    if len(value) <= BAGGAGE_MAX_BYTES and (
        value.isascii() or len(value.encode("utf-8", "surrogatepass")) <= BAGGAGE_MAX_BYTES
    ):
        return parse_baggage(value), value
    members = [member.strip(_OWS) for member in value.split(",")]
    sentry = [member for member in members if _is_sentry_member(member)]
    others = [member for member in members if member and not _is_sentry_member(member)]
    kept: list[str] = []
    size = -1  # no comma before the first member
    for member in sentry + others:
        length = len(member.encode("utf-8", "surrogatepass"))
        if length > BAGGAGE_MAX_MEMBER_BYTES:
            continue
        if len(kept) == BAGGAGE_MAX_MEMBERS or size + 1 + length > BAGGAGE_MAX_BYTES:
            break
        kept.append(member)
        size += 1 + length
    baggage = parse_baggage(",".join(kept))
    return baggage, fit_baggage(baggage.sentry_encoded, baggage.third_party)[2]


def _is_sentry_member(member: str) -> bool:
    key = member.partition("=")[0].strip(_OWS)
    if "%" in key or "+" in key:
        key = _decode(key) or ""
    return key.startswith(SENTRY_PREFIX)


def _simple_baggage(value: str) -> Baggage | None:
    """`_parsed_members(value)` for the common header (see `_SENTRY_ITEMS_RE`), with dicts
    built in C; None for any other header."""
    if len(value) > BAGGAGE_MAX_MEMBER_BYTES:  # within it, no member is over its limit
        return None
    listed = "," + value
    commas = listed.count(",")
    if commas > BAGGAGE_MAX_MEMBERS:
        return None
    items = _SENTRY_ITEMS_RE.findall(listed)
    members = _OTHER_MEMBERS_RE.findall(listed)
    if len(items) + len(members) != commas:
        return None  # a member of another shape
    # Repeated keys keep the position of the first and the value of the last, as in a dict.
    sentry = dict(items)
    sentry.pop("__proto__", None)
    others = dict(members)
    third_party = tuple(others.values())
    joined = None
    # Most headers, as Sentry's SDKs write them: Sentry's own fields, each once, then the
    # other members, each once. The start of the header is then the sentry members, as
    # fit_sentry would join them, within every limit (the header is).
    if len(sentry) == len(items) and len(others) == len(members):
        tail = "".join(map(",".__add__, third_party))  # each after its comma
        if listed.endswith(tail) and KNOWN_FIELDS.issuperset(sentry):
            joined = listed[1 : len(listed) - len(tail)]
    return new_tuple(Baggage, (sentry, third_party, joined))  # see IncomingTrace


def _parsed_members(value: str) -> Baggage:
    """`parse_baggage` member by member: any header within the byte limit."""
    if not (value.isascii() and _PLAIN_HEADER_RE.fullmatch(value)):
        value = _well_formed(value)
    sentry: dict[str, str] = {}
    others: dict[str, str] = {}
    sized = len(value) > BAGGAGE_MAX_MEMBER_BYTES  # else no member can be over the limit
    # Every member is well-formed and without whitespace now: plain splitting finds the parts.
    for member in value.split(",", BAGGAGE_MAX_MEMBERS)[:BAGGAGE_MAX_MEMBERS] if value else ():
        if sized and len(member) > BAGGAGE_MAX_MEMBER_BYTES:
            continue
        key, _, rest = member.partition("=")
        encoded = "%" in key or "+" in key
        if encoded:
            # Rare: only such keys need decoding, and a canonical spelling.
            decoded = _decode(key)
            if decoded is None:
                continue
            key = decoded
        if key.startswith(SENTRY_PREFIX):
            field = key[_PREFIX_LENGTH:]
            raw = rest.partition(";")[0] if ";" in rest else rest
            # Plain values, the common case, are canonical as they came.
            canonical = raw if raw and "%" not in raw and "+" not in raw else _canonical_value(raw)
            if canonical is not None and field and field not in _UNREADABLE_FIELDS:
                sentry[field] = canonical
        elif key in _UNREADABLE_FIELDS:
            continue
        elif encoded:
            key = encode_key(key)
            others[key] = f"{key}={rest}"
        else:
            others[key] = member
    return Baggage(sentry, tuple(others.values()))


def _decode(text: str) -> str | None:
    """A key or value percent-decoded and stripped, as OpenTelemetry reads it; None if it is
    not UTF-8 (@sentry/core's decodeURIComponent would throw) or nothing is left."""
    try:
        decoded = unquote(text, errors="strict").strip()
    except UnicodeDecodeError:
        return None
    return decoded or None


def _canonical_value(raw: str) -> str | None:
    """A sentry value that every reader decodes to the same text, or None if none can.

    A value that `_CANONICAL_VALUE_RE` matches is such a value as it came (the common case);
    any other is decoded and encoded again.
    """
    if not raw:
        return None  # @sentry/core skips an empty value, sentry-python keeps it
    if _CANONICAL_VALUE_RE.fullmatch(raw):
        return raw
    decoded = _decode(raw)
    return None if decoded is None else encode_value(decoded)


def _well_formed(value: str) -> str:
    """The well-formed members among the first ones, whitespace removed, the rest dropped."""
    members = []
    for member in value.split(",", BAGGAGE_MAX_MEMBERS)[:BAGGAGE_MAX_MEMBERS]:
        if len(member) > BAGGAGE_MAX_MEMBER_BYTES or not member.isascii():
            continue
        match = _MEMBER_RE.fullmatch(member)
        if match is not None:
            key, raw, props = match.groups()
            normalised = _properties(props)
            if normalised is not None:
                members.append(f"{key}={raw}{normalised}")
    return ",".join(members)


def _properties(text: str) -> str | None:
    """`;p1;p2=v` with the whitespace removed, or None if a property is malformed."""
    if not text:
        return ""
    normalised = []
    for part in text[1:].split(";"):
        match = _PROPERTY_RE.fullmatch(part)
        if match is None:
            return None
        key, value = match.groups()
        if key is not None:
            normalised.append(key if value is None else f"{key}={value}")
    return "".join(f";{part}" for part in normalised)


def format_sentry_trace(trace_id: str, span_id: str, sampled: bool | None) -> str:
    if sampled is None:
        return f"{trace_id}-{span_id}"
    return f"{trace_id}-{span_id}-{'1' if sampled else '0'}"


def format_traceparent(trace_id: str, span_id: str, sampled: bool | None) -> str:
    # W3C has no "deferred"; its flag means "may have recorded", and OpenTelemetry web drops
    # a trace flagged 00. So only a decision not to sample clears it.
    return f"00-{trace_id}-{span_id}-{'00' if sampled is False else '01'}"


def parse_tracestate(value: str) -> str | None:
    """A W3C `tracestate`, normalised (no whitespace, no empty members), or None when it
    must be dropped: a malformed member, a repeated key, or over 32 members or 512 characters.
    """
    if len(value) > TRACE_HEADER_MAX_BYTES:
        return None
    members: list[str] = []
    keys: set[str] = set()
    for part in value.split(","):
        member = part.strip(_OWS)
        if not member:
            continue
        key = member.partition("=")[0]
        if (
            len(members) == TRACESTATE_MAX_MEMBERS
            or key in keys
            or _TRACESTATE_MEMBER_RE.fullmatch(member) is None
        ):
            return None
        keys.add(key)
        members.append(member)
    joined = ",".join(members)
    return joined if joined and len(joined) <= TRACESTATE_MAX_CHARS else None


def encode_key(key: str) -> str:
    """The canonical spelling of a decoded baggage key."""
    return quote(key, safe=_KEY_SAFE)


def encode_field(field: str) -> str:
    """The canonical spelling of a decoded Sentry field, after the `sentry-` prefix."""
    if _PLAIN_FIELD_RE.fullmatch(field):
        return field
    return encode_key(field).replace("-", "%2D")


def decode_value(value: str) -> str:
    """A baggage value as text; `value` must be one that parse_baggage or encode_value made."""
    return unquote(value, errors="strict") if "%" in value else value


def encode_value(value: str) -> str:
    return value if _UNRESERVED_RE.fullmatch(value) else quote(value, safe="")


def format_baggage(sentry: Mapping[str, str], third_party: Iterable[str] = ()) -> str:
    """A `baggage` value from decoded sentry items and third-party members."""
    return join_baggage(encode_items(sentry), third_party)


def encode_items(sentry: Mapping[str, str]) -> dict[str, str]:
    """Decoded sentry items, encoded as they travel: stripped, since OpenTelemetry strips
    what it decodes, and without empty ones, which @sentry/core skips."""
    return {field: encode_value(text) for field, value in sentry.items() if (text := value.strip())}


def join_baggage(sentry_encoded: Mapping[str, str], third_party: Iterable[str] = ()) -> str:
    """The `baggage` value of `fit_baggage`."""
    return fit_baggage(sentry_encoded, third_party)[2]


def fit_sentry(
    sentry_encoded: dict[str, str], joined: str | None = None
) -> tuple[dict[str, str], str]:
    """`fit_baggage` of sentry items alone: the items kept, and their members joined.
    `joined`: the members as `Baggage.sentry_members` has them, already known to fit."""
    if joined is not None:
        return sentry_encoded, joined
    members = _sentry_members(sentry_encoded)
    joined = ",".join(members)
    if len(joined) <= BAGGAGE_MAX_MEMBER_BYTES and len(members) <= BAGGAGE_MAX_MEMBERS:
        return sentry_encoded, joined  # within every limit at once: no copy needed
    kept, _, joined = fit_baggage(sentry_encoded)
    return kept, joined


def fit_baggage(
    sentry_encoded: Mapping[str, str], third_party: Iterable[str] = ()
) -> tuple[dict[str, str], tuple[str, ...], str]:
    """What one `baggage` header carries of these items, and the header: sentry members
    first, then third-party ones, each key once, within the W3C and OpenTelemetry limits:
    members over the per-member limit are skipped, and the rest stop at the member or byte
    limit. Returns the sentry items kept, the third-party members kept, and the header."""
    members = _sentry_members(sentry_encoded)
    others: list[str] = []
    if third_party:
        seen = {member.partition("=")[0] for member in members}
        for member in third_party:
            key = member.partition("=")[0]
            if key not in seen:
                seen.add(key)
                others.append(member)
        members += others
    joined = ",".join(members)
    if len(joined) <= BAGGAGE_MAX_MEMBER_BYTES and len(members) <= BAGGAGE_MAX_MEMBERS:
        return dict(sentry_encoded), tuple(others), joined  # within every limit at once
    kept: list[str] = []
    sentry: dict[str, str] = {}
    size = -1  # no comma before the first member
    fields = [*sentry_encoded, *[None] * len(others)]
    for field, member in zip(fields, members, strict=True):
        if len(member) > BAGGAGE_MAX_MEMBER_BYTES:
            continue
        if len(kept) == BAGGAGE_MAX_MEMBERS or size + 1 + len(member) > BAGGAGE_MAX_BYTES:
            break
        kept.append(member)
        size += 1 + len(member)
        if field is not None:
            sentry[field] = sentry_encoded[field]
    return sentry, tuple(kept[len(sentry) :]), ",".join(kept)


def _sentry_members(sentry_encoded: Mapping[str, str]) -> list[str]:
    if KNOWN_FIELDS.issuperset(sentry_encoded):  # the common DSC: no field needs a check
        return [f"{SENTRY_PREFIX}{field}={value}" for field, value in sentry_encoded.items()]
    return [
        f"{SENTRY_PREFIX}{field if field in KNOWN_FIELDS else encode_field(field)}={value}"
        for field, value in sentry_encoded.items()
    ]
