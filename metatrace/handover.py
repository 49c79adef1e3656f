"""What a fetched page hands the browser: its trace meta tags and `Server-Timing` entries.

The browser SDKs read `<meta name="sentry-trace|baggage|traceparent">` first, and
@sentry/browser falls back to the navigation's Server-Timing entries of the same names
(DESIGN.md decision 9). Standard library only: the checker runs without Django or Jinja.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import NamedTuple

# What pages carry a trace in: meta tags (Datadog RUM's too) and Server-Timing entries (W3C
# Trace Context Level 3 names its own `trace`).
TRACE_NAMES = (
    "sentry-trace",
    "baggage",
    "traceparent",
    "tracestate",
    "trace",
    "dd-trace-id",
    "dd-trace-time",
)
# The id of the JSON script with Elastic RUM's page-load values (metatrace.elastic_page_load).
ELASTIC_SCRIPT_ID = "elastic-apm-page-load"

# W3C Server Timing: `metric *( OWS ";" OWS param )`, `param = name OWS "=" OWS value`, and a
# value is a token or an RFC 9110 quoted-string, in which `\` escapes the next character.
_TOKEN = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_QUOTED = r'"(?:[\t \x21\x23-\x5b\x5d-\x7e\x80-\xff]|\\[\t \x21-\x7e\x80-\xff])*"'
_PARAM = rf"[ \t]*;[ \t]*{_TOKEN}(?:[ \t]*=[ \t]*(?:{_TOKEN}|{_QUOTED}))?"
_METRIC_RE = re.compile(rf"[ \t]*({_TOKEN})((?:{_PARAM})*)[ \t]*(?:,|\Z)")
_PARAM_RE = re.compile(rf"[ \t]*;[ \t]*({_TOKEN})(?:[ \t]*=[ \t]*({_TOKEN}|{_QUOTED}))?")
# A malformed metric runs to the next comma outside quotes (quoted strings hold commas).
_SKIP_RE = re.compile(r'(?:[^,"]|"(?:[^"\\]|\\.)*"?)*,?', re.S)
_QUOTED_PAIR_RE = re.compile(r"\\(.)", re.S)


class Handover(NamedTuple):
    """The trace values a page carries, by name, in document or header order."""

    meta: dict[str, list[str]]
    server_timing: dict[str, list[str]]  # the `desc` of each trace metric
    malformed_metrics: int  # Server-Timing metrics skipped as malformed
    elastic: tuple[str, ...] = ()  # the text of each Elastic page-load script


class Metric(NamedTuple):
    name: str
    params: dict[str, str]  # lowercased name -> unquoted value; of repeats, the first


def read_handover(html: str, server_timing: list[str]) -> Handover:
    """The trace meta tags of `html` and the trace entries of the Server-Timing values."""
    metrics, malformed = parse_server_timing(server_timing)
    entries: dict[str, list[str]] = {}
    for metric in metrics:
        if metric.name in TRACE_NAMES:
            entries.setdefault(metric.name, []).append(metric.params.get("desc", ""))
    reader = _read(html)
    return Handover(reader.found, entries, malformed, tuple(reader.elastic))


def read_meta(html: str) -> dict[str, list[str]]:
    """The content of every `<meta>` named in TRACE_NAMES, in order, entities decoded as a
    browser decodes them."""
    return _read(html).found


def _read(html: str) -> _MetaReader:
    reader = _MetaReader()
    reader.feed(html)
    reader.close()
    return reader


class _MetaReader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: dict[str, list[str]] = {}
        self.elastic: list[str] = []
        self._in_elastic = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "script":
            self._in_elastic = _first(attrs, "id") == ELASTIC_SCRIPT_ID
            if self._in_elastic:
                self.elastic.append("")
            return
        if tag != "meta":
            return
        values: dict[str, str] = {}
        for attribute, value in attrs:
            values.setdefault(attribute, value or "")  # a repeated attribute: the first counts
        name = values.get("name", "")
        if name in TRACE_NAMES:
            self.found.setdefault(name, []).append(values.get("content", ""))

    def handle_data(self, data: str) -> None:
        if self._in_elastic:  # a script's text comes as it is, no entities decoded
            self.elastic[-1] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_elastic = False


def _first(attrs: list[tuple[str, str | None]], name: str) -> str | None:
    """The value of the attribute `name`; of repeats, the first, as browsers take it."""
    return next((value or "" for attribute, value in attrs if attribute == name), None)


def parse_server_timing(values: list[str]) -> tuple[list[Metric], int]:
    """The metrics of the `Server-Timing` header values (repeated headers form one list),
    and how many were malformed and skipped, as browsers skip them. Never raises."""
    metrics: list[Metric] = []
    malformed = 0
    text = ",".join(values)
    position = 0
    while position < len(text):
        match = _METRIC_RE.match(text, position)
        if match is not None:
            metrics.append(Metric(match.group(1), _params(match.group(2))))
            position = match.end()
            continue
        skipped = _SKIP_RE.match(text, position)
        end = len(text) if skipped is None else skipped.end()
        if text[position:end].strip(" \t,"):
            malformed += 1
        position = max(end, position + 1)
    return metrics, malformed


def _params(text: str) -> dict[str, str]:
    params: dict[str, str] = {}
    for match in _PARAM_RE.finditer(text):
        value = match.group(2) or ""
        if value.startswith('"'):
            value = _QUOTED_PAIR_RE.sub(r"\1", value[1:-1])
        params.setdefault(match.group(1).lower(), value)
    return params
