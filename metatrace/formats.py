"""Wire formats: parse and format sentry-trace, traceparent and baggage.

Pure functions with no state and no I/O. Parsers return None (or an empty result) for
anything malformed and never raise on str input; every regex here is linear.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import NamedTuple
from urllib.parse import quote, unquote

# Limits shared with OpenTelemetry (see DESIGN.md, "baggage").
BAGGAGE_MAX_BYTES = 8192
BAGGAGE_MAX_MEMBERS = 180
BAGGAGE_MAX_MEMBER_BYTES = 4096

# No valid sentry-trace or traceparent comes near this; longer ones are not even looked at.
TRACE_HEADER_MAX_BYTES = 8192

SENTRY_PREFIX = "sentry-"
_PREFIX_LENGTH = len(SENTRY_PREFIX)


class IncomingTrace(NamedTuple):
    """A trace that may be continued: ids of the sender and its sampling decision."""

    trace_id: str
    parent_span_id: str
    sampled: bool | None  # None: the decision is deferred


class Baggage(NamedTuple):
    # field -> value as it travels: percent-encoded, and known to decode as UTF-8
    sentry_encoded: dict[str, str]
    third_party: tuple[str, ...]  # normalised `key=value[;props]` members, in order

    @property
    def sentry(self) -> dict[str, str]:
        """The sentry items decoded: Sentry's dynamic sampling context."""
        return {field: decode_value(value) for field, value in self.sentry_encoded.items()}


EMPTY_BAGGAGE = Baggage({}, ())

_OWS = " \t"
_ZERO_TRACE = "0" * 32
_ZERO_SPAN = "0" * 16

_SENTRY_TRACE_RE = re.compile(r"[ \t]*([0-9a-f]{32})-([0-9a-f]{16})(?:-([01]))?[ \t]*")
# Version, trace id, parent id, flags, and what a future version may append.
_TRACEPARENT_RE = re.compile(
    r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-[\x20-\x7e]*)?"
)
# W3C baggage: token key, baggage-octet value, optional properties; OWS around the parts.
# The value class excludes ';' and the key class excludes '=', so nothing needs to backtrack:
# possessive repeats of the classes (`++`, `*+`) say so, and make matching faster. (Only of
# classes: Python before 3.11.5 mis-matches possessive repeats of groups, gh-106052.)
_TOKEN = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]++"
_TOKEN_RE = re.compile(_TOKEN)
_OCTETS = r"[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]*+"
_MEMBER_RE = re.compile(rf"[ \t]*({_TOKEN})[ \t]*=[ \t]*({_OCTETS})[ \t]*((?:;[^,]*)?)")
# Percent-escapes that are all ASCII decode without error, so such values need no decoding.
_ASCII_ESCAPES_RE = re.compile(r"[^%]*+(?:%[0-7][0-9A-Fa-f][^%]*+)*")
_UNRESERVED_RE = re.compile(r"[A-Za-z0-9_.~-]*")
# A header with no optional whitespace at all, the common case, is split without a regex
# per member. Keys hold no '=' ',' ';' and values no ',' ';', so this cannot backtrack.
_PLAIN_MEMBER = rf"{_TOKEN}={_OCTETS}(?:;(?:{_TOKEN}(?:={_OCTETS})?)?)*"
_PLAIN_HEADER_RE = re.compile(rf"{_PLAIN_MEMBER}(?:,{_PLAIN_MEMBER})*")
# A property is `key` or `key=value`; an empty one (as in a trailing ';') is kept as it came.
_PROPERTY_RE = re.compile(rf"[ \t]*(?:({_TOKEN})(?:[ \t]*=[ \t]*({_OCTETS}))?[ \t]*)?")


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
    if trace_id == _ZERO_TRACE or span_id == _ZERO_SPAN:
        return None
    return IncomingTrace(trace_id, span_id, None if flag is None else flag == "1")


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
    if trace_id == _ZERO_TRACE or span_id == _ZERO_SPAN:
        return None
    return IncomingTrace(trace_id, span_id, bool(int(flags, 16) & 1))


def parse_baggage(value: str) -> Baggage:
    """Split a `baggage` header into sentry items and normalised third-party members.

    An oversized header is ignored whole; a malformed or oversized member is skipped.
    For repeated keys the last value wins, at the position of the first.
    """
    if len(value) > BAGGAGE_MAX_BYTES or (
        not value.isascii() and len(value.encode("utf-8", "surrogatepass")) > BAGGAGE_MAX_BYTES
    ):
        return EMPTY_BAGGAGE
    if not (value.isascii() and _PLAIN_HEADER_RE.fullmatch(value)):
        value = _well_formed(value)
    sentry: dict[str, str] = {}
    others: dict[str, str] = {}
    sized = len(value) > BAGGAGE_MAX_MEMBER_BYTES  # else no member can be over the limit
    # Every member is well-formed and without whitespace now: plain splitting finds the parts.
    for member in value.split(",", BAGGAGE_MAX_MEMBERS)[:BAGGAGE_MAX_MEMBERS] if value else ():
        if sized and len(member) > BAGGAGE_MAX_MEMBER_BYTES:
            continue
        if member.startswith(SENTRY_PREFIX):
            field, _, raw = member[_PREFIX_LENGTH:].partition("=")
            if ";" in raw:
                raw = raw.partition(";")[0]
            if "%" in raw and not _ASCII_ESCAPES_RE.fullmatch(raw):
                # Non-ASCII or stray escapes: decode strictly and re-encode canonically.
                try:
                    raw = quote(unquote(raw, errors="strict"), safe="")
                except UnicodeDecodeError:
                    continue
            if field:
                sentry[field] = raw
        else:
            others[member.partition("=")[0]] = member
    return Baggage(sentry, tuple(others.values()))


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
        normalised.append("" if key is None else key if value is None else f"{key}={value}")
    return ";" + ";".join(normalised)


def format_sentry_trace(trace_id: str, span_id: str, sampled: bool | None) -> str:
    if sampled is None:
        return f"{trace_id}-{span_id}"
    return f"{trace_id}-{span_id}-{'1' if sampled else '0'}"


def format_traceparent(trace_id: str, span_id: str, sampled: bool | None) -> str:
    # W3C has no "deferred": like Sentry's SDKs, only an explicit yes sets the flag.
    return f"00-{trace_id}-{span_id}-{'01' if sampled else '00'}"


def is_token(text: str) -> bool:
    """Whether `text` may be a baggage key."""
    return _TOKEN_RE.fullmatch(text) is not None


def decode_value(value: str) -> str:
    """A baggage value as text; `value` must be one that parse_baggage or encode_value made."""
    return unquote(value, errors="strict") if "%" in value else value


def encode_value(value: str) -> str:
    return value if _UNRESERVED_RE.fullmatch(value) else quote(value, safe="")


def format_baggage(sentry: Mapping[str, str], third_party: Iterable[str] = ()) -> str:
    """A `baggage` value from decoded sentry items and third-party members."""
    return join_baggage(
        {field: encode_value(value) for field, value in sentry.items()}, third_party
    )


def join_baggage(sentry_encoded: Mapping[str, str], third_party: Iterable[str] = ()) -> str:
    """Sentry members first, then third-party ones, each key once, within the W3C and
    OpenTelemetry limits: members over the per-member limit are skipped, and the rest stop
    at the member or byte limit."""
    members = [f"{SENTRY_PREFIX}{field}={value}" for field, value in sentry_encoded.items()]
    if third_party:
        seen = {member.partition("=")[0] for member in members}
        for member in third_party:
            key = member.partition("=")[0]
            if key not in seen:
                seen.add(key)
                members.append(member)
    joined = ",".join(members)
    if len(joined) <= BAGGAGE_MAX_MEMBER_BYTES and len(members) <= BAGGAGE_MAX_MEMBERS:
        return joined  # within every limit at once
    kept: list[str] = []
    size = -1  # no comma before the first member
    for member in members:
        if len(member) > BAGGAGE_MAX_MEMBER_BYTES:
            continue
        if len(kept) == BAGGAGE_MAX_MEMBERS or size + 1 + len(member) > BAGGAGE_MAX_BYTES:
            break
        kept.append(member)
        size += 1 + len(member)
    return ",".join(kept)
