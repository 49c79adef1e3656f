"""The Server-Timing header (W3C Server Timing): its entries, read as browsers read them, and
the quoted-strings its `desc` values are written in.

A header is a list of metrics, `metric *( OWS ";" OWS param )`, where `param = name OWS "="
OWS value` and a value is a token or an RFC 9110 quoted-string (in which `\\` escapes the next
character, and a comma is no separator). One splitter finds the entries, for the checker's
reading and for the middleware's rewriting alike.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import NamedTuple

from .formats import TOKEN

# An entry: anything up to a comma that is not inside a quoted-string (an unclosed one runs to
# the end).
_ENTRY_RE = re.compile(r'(?:[^,"]|"(?:[^"\\]|\\[\s\S])*(?:"|$))+')
_QUOTED = r'"(?:[\t \x21\x23-\x5b\x5d-\x7e\x80-\xff]|\\[\t \x21-\x7e\x80-\xff])*"'
_PARAM = rf"[ \t]*;[ \t]*{TOKEN}(?:[ \t]*=[ \t]*(?:{TOKEN}|{_QUOTED}))?"
_METRIC_RE = re.compile(rf"[ \t]*({TOKEN})((?:{_PARAM})*)[ \t]*")
_PARAM_RE = re.compile(rf"[ \t]*;[ \t]*({TOKEN})(?:[ \t]*=[ \t]*({TOKEN}|{_QUOTED}))?")
_QUOTED_PAIR_RE = re.compile(r"\\(.)", re.S)


class Metric(NamedTuple):
    name: str
    params: dict[str, str]  # lowercased name -> unquoted value; of repeats, the first


def entries(value: str) -> list[str]:
    """The entries of a Server-Timing value, as they are written, without the empty ones."""
    return [entry for entry in map(str.strip, _ENTRY_RE.findall(value)) if entry]


def parse_server_timing(values: list[str]) -> tuple[list[Metric], int]:
    """The metrics of the `Server-Timing` header values (repeated headers form one list),
    and how many were malformed and skipped, as browsers skip them. Never raises."""
    metrics: list[Metric] = []
    malformed = 0
    for entry in entries(",".join(values)):
        match = _METRIC_RE.fullmatch(entry)
        if match is None:
            malformed += 1
        else:
            metrics.append(Metric(match.group(1), _params(match.group(2))))
    return metrics, malformed


def _params(text: str) -> dict[str, str]:
    params: dict[str, str] = {}
    for match in _PARAM_RE.finditer(text):
        value = match.group(2) or ""
        if value.startswith('"'):
            value = _QUOTED_PAIR_RE.sub(r"\1", value[1:-1])
        params.setdefault(match.group(1).lower(), value)
    return params


def mentions_trace(value: str) -> bool:
    """Whether a Server-Timing value may hold a trace entry (a quick test before the work)."""
    lowered = value.lower()
    # "trace" covers sentry-trace, traceparent, tracestate and the Level 3 metric.
    return "trace" in lowered or "baggage" in lowered


def without_entries(value: str, names: Collection[str]) -> str | None:
    """`value` without the entries named in `names` (lowercase); as it was when it has none,
    and None when nothing is left."""
    found = entries(value)
    kept = [entry for entry in found if entry.partition(";")[0].strip().lower() not in names]
    if len(kept) == len(found):
        return value
    return ", ".join(kept) or None


def quoted_string(value: str) -> str:
    """An RFC 9110 quoted-string, as a Server-Timing `desc` takes it. The values are baggage
    octets and hex by construction, so escaping the quote and the backslash is all it takes."""
    if '"' in value or "\\" in value:
        value = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{value}"'
