"""What an HTML response carries: exactly this request's trace, and no one else's.

The Django, WSGI and ASGI middleware are thin adapters over this module. From a response's
headers, and the head of its body when the middleware holds it, it decides:

- Server-Timing: `sentry-trace`, `baggage` (and `traceparent`) entries carrying the values of
  the meta tags, for browser SDKs that read the navigation's Server-Timing instead;
- stale tags: trace tags of another trace in the head (a cached template fragment) are
  replaced with this request's;
- injection (setting `inject`): a page with no trace tags gets them after its `<head>` tag;
- shared-cacheable pages lose their trace tags and their trace entries in Server-Timing.

Only a page's head is read (up to `HEAD_LIMIT` bytes), and only if it is uncompressed HTML
whose body is complete (a stream is never held back, except to strip a cacheable page).
"""

from __future__ import annotations

import enum
import logging
import re
from collections.abc import Callable, Collection, Iterable, Mapping

from .._core import config as configuration
from .._core.config import Config, get_config
from .._core.context import TraceContext
from .._core.names import (
    BAGGAGE,
    DD_TRACE_ID,
    DD_TRACE_TIME,
    ELASTIC_SCRIPT_ID,
    OWN_TIMING_ENTRIES,
    PROPAGATED,
    SENTRY_TRACE,
    TRACE_METRIC,
    TRACEPARENT,
    TRACESTATE,
)
from .._core.timing import mentions_trace, without_entries
from .._sources import ELASTICAPM, current
from .caching import is_shared_cacheable
from .templating import elastic_page_load

logger = logging.getLogger("metatrace")

# The bound on how much of a page is read for its head, against pages whose head never ends
# (a hostile or broken one). Real heads end far sooner: the Django admin's at 0.7 KB, a page
# that inlines its critical CSS at 14 to 50 KB, one that inlines all of Bootstrap's at 240 KB.
HEAD_LIMIT = 1024 * 1024
# The Server-Timing entries of a trace that a page leaves with: metatrace's own three always;
# tracestate and the Level 3 `trace` metric when the settings render them (an app may time
# a metric of its own called "trace").
_TRACE_ENTRIES = {
    (tracestate, metric): frozenset(
        OWN_TIMING_ENTRIES + (TRACESTATE,) * tracestate + (TRACE_METRIC,) * metric
    )
    for tracestate in (False, True)
    for metric in (False, True)
}
_HTML = ("text/html", "application/xhtml+xml")

_HEAD_START_RE = re.compile(rb"<head(?:\s[^>]*)?>", re.IGNORECASE)  # not <header>
_HTML_START_RE = re.compile(rb"<html(?:\s[^>]*)?>", re.IGNORECASE)
_DOCTYPE_RE = re.compile(rb"<!doctype[^>]*>", re.IGNORECASE)
# The head's end (its end tag or the body's start tag, both optional; not </header> or
# <bodyx>), a comment (what it holds is no tag), or the start of a tag that names a trace,
# whose id follows (after the version, "00-", in a traceparent). A baggage tag comes only with
# a sentry-trace tag, since TraceContext renders a DSC only with one; alone, it is no trace's,
# but it still means the page has its tags.
_SENTRY_TRACE, _TRACEPARENT = SENTRY_TRACE.encode(), TRACEPARENT.encode()
_HEAD_SCAN_RE = re.compile(
    rb'<(?:meta name="(' + _SENTRY_TRACE + rb"|" + _TRACEPARENT + rb')" content="|(!--)'
    rb"|/[hH][eE][aA][dD][\s/>]|[bB][oO][dD][yY][\s/>])"
)
# A page that starts with an element that has no place in a head (`<div>`, `<tr>`: an htmx
# fragment, say) has no head to read.
_FIRST_TAG_RE = re.compile(rb"\s*+<([a-zA-Z][a-zA-Z0-9]*+)")
_HEAD_ELEMENTS = frozenset(
    b"html head meta link title script style base noscript template basefont bgsound".split()
)
_BAGGAGE_TAG = f'<meta name="{BAGGAGE}" content="'.encode()
# A comment, a script's start, or a `<meta>` tag; the one that declares the encoding has
# `charset=` in an attribute (`<meta charset="utf-8">`, or the `http-equiv` form's content).
_CHARSET_SCAN_RE = re.compile(rb"(<!--)|(<script[\s>])|<meta\s[^>]*+>", re.IGNORECASE)
_CHARSET_RE = re.compile(rb"charset\s*=", re.IGNORECASE)
# Exactly what TraceContext renders (attribute values are escaped, so they hold no quote).
_TRACE_META = (
    b'<meta name="(?:'
    + "|".join(map(re.escape, (*PROPAGATED, DD_TRACE_ID, DD_TRACE_TIME))).encode()
    + b')" content="[^"<>]*">'
)
_TRACE_META_RE = re.compile(_TRACE_META)
# The JSON script of Elastic's page-load values, as templating.elastic_page_load renders it
# (its JSON escapes "<").
_ELASTIC_SCRIPT_RE = re.compile(
    f'<script type="application/json" id="{ELASTIC_SCRIPT_ID}">'.encode() + rb"([^<]*)</script>"
)
_PER_VISITOR_RE = re.compile(rb"|".join((_TRACE_META, _ELASTIC_SCRIPT_RE.pattern)))

# Headers that give a page more work than its head and one Server-Timing header: a shared
# cache may store it, it is compressed, or the app wrote Server-Timing entries of its own.
_SHAPING = frozenset({"cache-control", "expires", "content-encoding", "server-timing"})

# Pages that served another trace's tags, by location: each is logged once (bounded).
_warned: set[tuple[str, str]] = set()
_WARNED_LIMIT = 1000


class Work(enum.Enum):
    """What happens to the body of an HTML page (its headers are always seen to)."""

    HEADERS = "headers"  # nothing: a stream, a body-less response, or a compressed one
    HEAD = "head"  # the head of a complete body: stale tags replaced, missing ones injected
    STRIP = "strip"  # a shared cache may store it: every trace tag leaves the body


# Enum members are slow to look up on the class; these run for every HTML response.
_HEADERS, _HEAD, _STRIP = Work.HEADERS, Work.HEAD, Work.STRIP


def is_html(content_type: str | None) -> bool:
    return content_type is not None and (
        content_type.startswith(_HTML) or content_type.lower().startswith(_HTML)
    )


def read_page(
    headers: Mapping[str, str], status: int, *, complete: bool | None
) -> OutgoingPage | None:
    """The work a response needs, or None when there is none (not an HTML page, say).

    `headers`: lowercase names, as `header_map()` makes them. Call it while the request's
    trace is active. `complete`: True when the whole body is in hand; False when the body
    must not be held back (a stream, a HEAD request); None when the middleware may gather
    it: then a body with a Content-Length counts as complete, and a shared-cacheable one is
    gathered whole to be stripped.
    """
    if not _is_page(headers, status):
        return None
    config = get_config()
    shared = _is_shared(headers, config)
    encoding = headers.get("content-encoding")
    encoded = encoding is not None and encoding.strip().lower() not in ("", "identity")
    length = headers.get("content-length")
    size = int(length) if length is not None and length.isdigit() else None
    work = _HEADERS
    if shared and complete is not False:
        if encoded:
            logger.warning(
                "metatrace: a cacheable page is already compressed (%s), so its trace tags "
                "stay: compress outside the trace middleware (GZipMiddleware above "
                "TraceMiddleware)",
                encoding,
            )
        else:
            work = _STRIP
    elif not shared and not encoded and (complete or (complete is None and size is not None)):
        work = _HEAD
    server_timing = headers.get("server-timing")
    if work is _HEADERS and not (
        config.server_timing
        if not shared
        else server_timing is not None and mentions_trace(server_timing)
    ):
        return None
    return OutgoingPage(work, shared, server_timing, length, config)


def withholds_tags(headers: Mapping[str, str], status: int) -> bool:
    """Whether a streamed response must render no tags as it goes (`withhold_tags`): an HTML
    page that a shared cache may store, which `read_page` would strip if it could hold it."""
    return _is_page(headers, status) and _is_shared(headers, get_config())


def _is_page(headers: Mapping[str, str], status: int) -> bool:
    # Not informational, empty or a redirect, and HTML.
    return not (status < 200 or status == 204 or 300 <= status < 400) and is_html(
        headers.get("content-type")
    )


def _is_shared(headers: Mapping[str, str], config: Config) -> bool:
    """Whether a shared cache may store the page, and the settings say to strip it."""
    cache_control, expires = headers.get("cache-control"), headers.get("expires")
    return (
        config.strip_cacheable
        and (cache_control is not None or expires is not None)
        and is_shared_cacheable(cache_control, expires, headers.get("date"))
    )


def is_plain(headers: Collection[str], status: int) -> bool:
    """Whether a complete HTML response with these (lowercase) header names is the common
    page, which `carry_head` sees to alone: `read_page` would give it HEAD work, and it has
    no Server-Timing to keep. Most pages are: a 200 with no cache or encoding headers."""
    return status == 200 and _SHAPING.isdisjoint(headers)


def carry_head(body: bytes, where: Callable[[], str]) -> tuple[bytes, str]:
    """For a page that `is_plain`: the body that `OutgoingPage.body()` gives it, and its
    Server-Timing value ("" for none). When the body changed, `resized()` says what else
    does. (Its twin, for speed: `OutgoingPage.body()` and `header_changes()`; the tests of
    tests/pages/test_responses.py run both on the same pages.)"""
    config = configuration.configured or configuration.get_config()
    trace = current()
    page = trace.page()
    new = _fixed_head(body, trace, page.trace_id, config.inject, where)
    if config.source == ELASTICAPM:
        new = _fixed_elastic(new, trace.trace_id, where)
    return new, page.server_timing if config.server_timing else ""


def resized(length: str | None, delta: int) -> dict[str, str | None]:
    """The headers that describe a body that changed by `delta` bytes (None: removed), for
    its Content-Length header `length`."""
    changes: dict[str, str | None] = {}
    if length is not None and length.isdigit():
        changes["Content-Length"] = str(int(length) + delta)
    changes["ETag"] = None  # it described the page as it was
    return changes


def header_map(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    """A header list as `read_page` reads it: lowercase names, repeated headers comma-joined
    (one list, as RFC 9110 says)."""
    found: dict[str, str] = {}
    for name, value in headers:
        lowered = name.lower()
        found[lowered] = f"{found[lowered]}, {value}" if lowered in found else value
    return found


class OutgoingPage:
    """One HTML response on its way out: `body()` first (unless the work is HEADERS), then
    `header_changes()`."""

    __slots__ = (
        "_config",
        "_delta",
        "_length",
        "_server_timing",
        "_trace",
        "reads_body",
        "strips",
        "work",
    )

    def __init__(
        self,
        work: Work,
        shared: bool,
        server_timing: str | None,
        length: str | None,  # the Content-Length header
        config: Config,
    ) -> None:
        self.work = work
        self.reads_body = work is not _HEADERS  # the adapters ask these for every page
        self.strips = work is _STRIP
        self._server_timing = server_timing
        self._length = length
        self._config = config
        # The trace the page's tags carry; a cacheable page carries none.
        self._trace: TraceContext | None = None if shared else current()
        self._delta: int | None = None  # how much the body grew, once it changed

    def body(self, body: bytes, where: Callable[[], str]) -> bytes:
        """The body to send instead of `body`. For HEAD work, `body` may be just the start
        of it, as long as `head_seen()` says it holds the head (or it is HEAD_LIMIT bytes at
        least). `where()` names the page in the warnings about its tags (a view, a path); it
        is called only for those."""
        if self.work is _STRIP:
            new, count = _PER_VISITOR_RE.subn(b"", body)
            if not count:
                return body
        elif self.work is _HEAD and self._trace is not None:
            trace = self._trace
            new = _fixed_head(body, trace, trace.page().trace_id, self._config.inject, where)
            if self._config.source == ELASTICAPM:
                new = _fixed_elastic(new, trace.trace_id, where)
            if new is body:
                return body
        else:
            return body
        self._delta = len(new) - len(body)
        return new

    def header_changes(self) -> dict[str, str | None]:
        """Header name -> new value, or None to remove the header."""
        changes: dict[str, str | None] = {}
        timing = self._timing()
        if timing != self._server_timing:
            changes["Server-Timing"] = timing
        if self._delta is not None:
            changes.update(resized(self._length, self._delta))
        return changes

    def _timing(self) -> str | None:
        """The Server-Timing value: the trace entries of others removed, this trace's added."""
        value = self._server_timing
        if value is not None and mentions_trace(value):
            config = self._config
            value = without_entries(value, _TRACE_ENTRIES[config.tracestate, config.trace_metric])
        if self._trace is not None and self._config.server_timing:
            ours = self._trace.page().server_timing
            if ours:
                value = f"{value}, {ours}" if value else ours
        return value


def _fixed_head(
    body: bytes, trace: TraceContext, ours: bytes, inject: bool, where: Callable[[], str]
) -> bytes:
    """`body` with exactly one set of this trace's tags in its head (`ours`: its trace id):
    stale ones replaced, repeated ones removed, missing ones injected (when `inject`); `body`
    itself when it is right as it is."""
    if len(body) > _SMALL and not body.startswith(b"<!") and _is_fragment(body):
        return body  # no head to read: spare the scan of a large fragment
    seen = 0  # the names found so far: 1 sentry-trace, 2 traceparent
    at = 0
    # One pass over the head, from tag to tag that names a trace, up to the head's end.
    while (match := _HEAD_SCAN_RE.search(body, at, HEAD_LIMIT)) is not None:
        name = match.group(1)
        if name is None:
            if match.group(2) is not None:
                at = _after(body, b"-->", match.end())
                continue
            at = _script_end(body, match.start())
            if at < 0:
                break  # the head's end
            continue  # a script spelled it
        at = match.end()
        if not body.startswith(ours, at + 3 if name == _TRACEPARENT else at):  # after "00-"
            return _replaced(body, trace, where, stale=True)
        bit = 1 if name == _SENTRY_TRACE else 2
        if seen & bit:
            return _replaced(body, trace, where, stale=False)  # a second set
        seen |= bit
    if match is None and len(body) >= HEAD_LIMIT:
        _warn(where(), _PAST_LIMIT)  # tags past the bound are not seen: inject none either
        return body
    if seen or not inject:
        return body
    end = match.start() if match is not None else len(body)
    if body.find(_BAGGAGE_TAG, 0, end) >= 0:
        return body
    position = _injection_point(body, end)
    if position < 0:
        return body
    meta = str(trace.meta()).encode("ascii")
    return b"".join((body[:position], meta, body[position:])) if meta else body


_SMALL = 8192  # a page this short is scanned whole sooner than asked whether it is a fragment


def _is_fragment(body: bytes) -> bool:
    """Whether the page starts with an element that has no place in a head. (Most pages start
    with a doctype or a comment: callers spare this call for those.)"""
    first = _FIRST_TAG_RE.match(body)
    return first is not None and first.group(1).lower() not in _HEAD_ELEMENTS


def _script_end(body: bytes, position: int) -> int:
    """Where the script that `position` lies in ends, or -1 when it lies in none."""
    closed = body.rfind(b"</script", 0, position)  # then a script opened since, if any
    if body.rfind(b"<script", closed if closed > 0 else 0, position) < 0:
        return -1
    return _after(body, b"</script", position)


def _after(body: bytes, closer: bytes, start: int) -> int:
    """Where `closer` ends, from `start` on (HEAD_LIMIT if it does not come before it)."""
    end = body.find(closer, start, HEAD_LIMIT)
    return HEAD_LIMIT if end < 0 else end + len(closer)


def _injection_point(body: bytes, end: int) -> int:
    """Where the tags go in a head that has none: after `<head ...>`; in a page without that
    (optional) tag, after `<html ...>` or the doctype, where the browser's head begins; and
    after the head's `<meta charset>`, if it has one, which browsers look for in the first
    1,024 bytes only (a long baggage before it would push it out). -1 for a fragment."""
    start = _HEAD_START_RE.search(body, 0, end)
    if start is None:
        start = _HTML_START_RE.search(body, 0, end) or _DOCTYPE_RE.search(body, 0, end)
    if start is None:
        return -1
    charset = _charset_end(body, start.end(), end)
    return start.end() if charset < 0 else charset


def _charset_end(body: bytes, start: int, end: int) -> int:
    """Where the head's `<meta charset>` (or its `http-equiv` spelling) ends, outside comments
    and scripts; -1 when there is none."""
    at = start
    while (match := _CHARSET_SCAN_RE.search(body, at, end)) is not None:
        if match.group(1) is not None:  # a comment: what it holds is no tag
            at = _after(body, b"-->", match.end())
        elif match.group(2) is not None:  # a script: likewise
            at = _after(body, b"</script", match.end())
        elif _CHARSET_RE.search(match.group()) is not None:
            return match.end()
        else:
            at = match.end()
    return -1


def head_seen(start: bytes) -> bool:
    """Whether the start of a body holds all of its head that `OutgoingPage.body()` reads: the WSGI
    and ASGI adapters hold a page back only until then (or until HEAD_LIMIT bytes)."""
    return _head_end(start) < len(start) or (len(start) > _SMALL and _is_fragment(start))


def _head_end(body: bytes) -> int:
    # As _fixed_head reads it: the first end tag in any case, or the body's start tag (the
    # head's end tag is optional), outside comments and scripts.
    at = 0
    while (match := _HEAD_SCAN_RE.search(body, at, HEAD_LIMIT)) is not None:
        if match.group(1) is not None:
            at = match.end()
        elif match.group(2) is not None:
            at = _after(body, b"-->", match.end())
        else:
            at = _script_end(body, match.start())
            if at < 0:
                return match.start()
    return min(len(body), HEAD_LIMIT)


def _replaced(body: bytes, trace: TraceContext, where: Callable[[], str], *, stale: bool) -> bytes:
    """`body` with the trace tags of its head replaced: this trace's tags where the first one
    was, and the others gone. `stale`: they named another trace, else they were repeated."""
    end = _head_end(body)
    tags = list(_TRACE_META_RE.finditer(body, 0, end))
    if not tags:  # nothing whole to replace: a tag cut off at the bound, or not ours
        _warn(where(), _PAST_LIMIT if end >= HEAD_LIMIT else _FOREIGN)
        return body
    if stale:
        _warn(where(), _STALE, _found(tags, trace))
    else:
        _warn(where(), _REPEATED)
    return _spliced(body, tags, str(trace.meta()).encode("ascii"))


def _found(tags: list[re.Match[bytes]], trace: TraceContext) -> str:
    """The first tag of another trace among `tags`, as the warning quotes it."""
    ours = trace.trace_id.encode("ascii")
    tag = next((tag for tag in tags if ours not in tag.group()), tags[0]).group()
    return repr(tag.decode("ascii", "replace")[:200])


def _fixed_elastic(body: bytes, trace_id: str, where: Callable[[], str]) -> bytes:
    """`body` with at most one Elastic page-load script in its head, this request's (for
    SOURCE "elasticapm"): a stale one (a fragment cache's) replaced, repeated ones removed."""
    if _ELASTIC_SCRIPT_RE.search(body, 0, HEAD_LIMIT) is None:  # most pages: no head walk
        return body
    scripts = list(_ELASTIC_SCRIPT_RE.finditer(body, 0, _head_end(body)))
    ours = f'"pageLoadTraceId":"{trace_id}"'.encode("ascii")
    fresh = all(ours in script.group(1) for script in scripts)
    if fresh and len(scripts) <= 1:  # none in the head, or this request's
        return body
    if fresh:
        _warn(where(), _REPEATED)
    else:
        stale = next(script for script in scripts if ours not in script.group(1))
        _warn(where(), _STALE, repr(stale.group().decode("ascii", "replace")[:200]))
    return _spliced(body, scripts, str(elastic_page_load()).encode("ascii"))


def _spliced(body: bytes, matches: list[re.Match[bytes]], replacement: bytes) -> bytes:
    """`body` with `replacement` where the first match was, and the others removed."""
    parts = [body[: matches[0].start()], replacement]
    position = matches[0].end()
    for match in matches[1:]:
        parts.append(body[position : match.start()])
        position = match.end()
    parts.append(body[position:])
    return b"".join(parts)


_STALE = (
    "metatrace: %s rendered the trace tags of another trace (%s), so they were replaced with "
    "this request's. Such tags come from a fragment cache around them ({%% cache %%}, a cached "
    "include, a Jinja fragment cache), which serves one visitor's trace to the next, or were "
    "written into the template by hand: render the tags with metatrace, outside any cache."
)
_REPEATED = (
    "metatrace: %s rendered the trace tags more than once, so one set was kept (the browser "
    "reads the first). Render them once: a cached include and the tag itself, or a base "
    "template and a block that both print them, make two."
)
_FOREIGN = (
    "metatrace: %s carries a trace tag of another trace in a spelling that metatrace does not "
    "render, so it was left as it is, and the browser may read it first. Render the tags with "
    "metatrace only."
)
_PAST_LIMIT = (
    "metatrace: the head of %s runs past the first "
    f"{HEAD_LIMIT} bytes (metatrace.HEAD_LIMIT), so trace tags after that are "
    "neither checked (a stale or repeated set stays) nor injected. End the head sooner: move "
    "large inline styles or scripts into files."
)


def _warn(where: str, message: str, *found: str) -> None:
    key = (message, where)  # each kind of warning once per place
    if key in _warned or len(_warned) >= _WARNED_LIMIT:
        return
    _warned.add(key)
    logger.warning(message, where, *found)


def changed_headers(
    headers: list[tuple[str, str]], changes: dict[str, str | None]
) -> list[tuple[str, str]]:
    """`headers` (a WSGI-style list, repeats allowed) with `header_changes()` applied."""
    if not changes:
        return headers
    names = {name.lower() for name in changes}
    kept = [(name, value) for name, value in headers if name.lower() not in names]
    kept += [(name, value) for name, value in changes.items() if value is not None]
    return kept
