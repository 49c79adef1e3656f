"""What a fetched page hands the browser: its trace meta tags, its `Server-Timing` entries and
Elastic's page-load script, read as a browser reads them.

The browser SDKs read `<meta name="sentry-trace|baggage|traceparent">` first, and
@sentry/browser falls back to the navigation's Server-Timing entries of the same names.
The standard library and the core only: the checker runs without Django or Jinja.
"""

from __future__ import annotations

from html.parser import HTMLParser
from typing import NamedTuple

from .._core.names import ELASTIC_SCRIPT_ID, HANDOVER_NAMES
from .._core.timing import parse_server_timing


class Handover(NamedTuple):
    """The trace values a page carries, by name, in document or header order."""

    meta: dict[str, list[str]]
    server_timing: dict[str, list[str]]  # the `desc` of each trace metric
    malformed_metrics: int  # Server-Timing metrics skipped as malformed
    elastic: tuple[str, ...] = ()  # the text of each Elastic page-load script


def read_handover(html: str, server_timing: list[str]) -> Handover:
    """The trace meta tags of `html` and the trace entries of the Server-Timing values."""
    metrics, malformed = parse_server_timing(server_timing)
    entries: dict[str, list[str]] = {}
    for metric in metrics:
        if metric.name in HANDOVER_NAMES:
            entries.setdefault(metric.name, []).append(metric.params.get("desc", ""))
    reader = _read(html)
    return Handover(reader.found, entries, malformed, tuple(reader.elastic))


def read_meta(html: str) -> dict[str, list[str]]:
    """The content of every `<meta>` named in HANDOVER_NAMES, in order, entities decoded as a
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
        if name in HANDOVER_NAMES:
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
