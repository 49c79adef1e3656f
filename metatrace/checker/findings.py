"""The checks: each takes what was fetched and returns findings in plain words."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from .._core.config import BROWSER_FILLS_DSC, parse_dsn, parse_version
from .._core.formats import (
    IncomingTrace,
    format_baggage,
    format_sentry_trace,
    format_traceparent,
    is_id,
    parse_baggage,
    parse_sentry_trace,
    parse_traceparent,
)
from .._core.names import HANDOVER_NAMES
from .._pages.caching import is_shared_cacheable
from .fetch import DEFAULTS, FetchedPage, FetchError, Options, fetch, shown
from .report import Finding, Report, Section


class Probe(NamedTuple):
    """The checker's own trace, sent with the first fetch."""

    trace_id: str
    span_id: str
    public_key: str
    org_id: str | None  # the site's, from --dsn: a server of another org starts a new trace

    @property
    def headers(self) -> dict[str, str]:
        dsc = {
            "trace_id": self.trace_id,
            "public_key": self.public_key,
            "sample_rate": "1.0",
            "sample_rand": f"0.{secrets.randbelow(10**6):06d}",
            "sampled": "true",
            "environment": "metatrace-check",
        }
        if self.org_id is not None:  # a site with strict trace continuation requires it
            dsc["org_id"] = self.org_id
        return {
            "sentry-trace": format_sentry_trace(self.trace_id, self.span_id, True),
            "baggage": format_baggage(dsc),
            "traceparent": format_traceparent(self.trace_id, self.span_id, True),
        }


def new_probe(org_id: str | None = None) -> Probe:
    return Probe(secrets.token_hex(16), secrets.token_hex(8), secrets.token_hex(16), org_id)


def check(
    url: str,
    *,
    dsn: str | None = None,
    timeout: float | None = None,
    sentry_browser_version: str | None = None,
    options: Options = DEFAULTS,
) -> Report:
    """Fetch `url` with the checker's trace, then without, and check the handshake.
    `sentry_browser_version`: the @sentry/browser release the pages load, as the site's
    SENTRY_BROWSER_VERSION setting says; `options`: what to send besides (headers, cookies, a
    representation) and whom to trust. A page that cannot be fetched makes a report with its
    `error` (exit status UNREACHABLE). SettingError for a bad `dsn` or version."""
    expected = parse_dsn(dsn) if dsn else None
    rules = Rules(fills_dsc=_fills_dsc(parse_version(sentry_browser_version)))
    probe = new_probe(expected.org_id if expected else None)
    if timeout is not None:
        options = replace(options, timeout=timeout)
    made = partial(Report, shown(url), insecure=options.insecure, secrets=options.secrets)
    try:
        first = fetch(url, probe.headers, options=options)
        second = fetch(url, {}, options=options) if _is_html(first) else None
    except FetchError as error:
        because = f"{error.url}: {error.reason}" + (f" ({error.fix})" if error.fix else "")
        return made([], error=because)
    fetched = _fetched(first) + (_fetched(second) if second is not None else ())
    made = partial(made, judged=first.url, fetched=fetched)
    opening = [_status(first), *check_redirects(url, first), *check_sent(options, first)]
    if second is None:
        return made([Section("Fetch 1", [*opening, _not_html(first, options)])])
    sent = format_sentry_trace(probe.trace_id, probe.span_id, True)
    return made(
        [
            Section(
                f"Fetch 1, sending the checker's trace {sent}",
                [
                    *opening,
                    *check_handover(first, rules),
                    *check_datadog_time(first),
                    *check_continued(first, probe),
                ],
            ),
            Section(
                "Fetch 2, sending no trace (a new visitor)",
                [
                    _status(second),
                    *check_handover(second, rules),
                    *check_datadog_time(second),
                    *check_started(second, probe, first),
                ],
            ),
            Section("Cache", [*check_replay(first, second, probe), *check_caching(first, second)]),
            Section("DSN", check_dsn(dsn, second, probe)),
        ],
    )


def _fetched(page: FetchedPage) -> tuple[str, ...]:
    return (*(hop.url for hop in page.redirects), page.url)


def check_redirects(url: str, page: FetchedPage) -> list[Finding]:
    """Each redirect on the way to the page judged; another page than the one asked for (a
    login page, say) is not the page asked for, and the check says so, and fails."""
    if not page.redirects:
        return []
    hops = " -> ".join(f"{hop.url} ({hop.status})" for hop in page.redirects)
    findings = [Finding("info", f"redirected: {hops} -> {page.url}, the page judged")]
    if _page(page.url) != _page(page.redirects[0].url):
        findings.append(
            Finding(
                "fail",
                f"judged {page.url}, not {shown(url)}: the page asked for sends the visitor to "
                "another page (a login page?). To check the page itself, send what lets a "
                "visitor see it (--cookie 'sessionid=...', --header 'Authorization: ...'), or "
                "check the page it redirects to by its own URL",
            )
        )
    return findings


def _page(url: str) -> tuple[str, str, str]:
    """What names a page across the redirects that keep it: http to https, www. added or
    removed, a trailing slash added or removed. Another host, path or query is another page."""
    parts = urlsplit(url)
    host = (parts.hostname or "").removeprefix("www.")
    return host, parts.path.rstrip("/") or "/", parts.query


def check_sent(options: Options, page: FetchedPage) -> list[Finding]:
    """What the user had the checker send, without its values, and what that means."""
    findings = []
    if options.insecure:
        findings.append(
            Finding(
                "warn",
                "certificates not checked (--insecure): this report cannot vouch that the "
                "server is the one named",
            )
        )
    sent = [name for name, _ in options.headers] + ["Cookie"] * bool(options.cookies)
    if sent:
        findings.append(Finding("info", f"sent {', '.join(sent)} (values not shown)"))
    if page.dropped:
        findings.append(
            Finding(
                "info",
                f"not sent to {_origin(page.url)}, where a redirect led: "
                f"{', '.join(page.dropped)} (they were given for {_origin(_first(page))})",
            )
        )
    if options.accept:
        findings.append(Finding("info", f"asked for {options.accept} (--accept)"))
    return findings


def _first(page: FetchedPage) -> str:
    return page.redirects[0].url if page.redirects else page.url


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


class Rules(NamedTuple):
    """What the page's browser SDK does with what it reads, where releases differ."""

    # @sentry/browser 11.17 and later continue a sentry-trace without baggage with a DSC of
    # their own; 11.12 and earlier freeze an empty one (see config.BROWSER_FILLS_DSC).
    fills_dsc: bool = False


DEFAULT_RULES = Rules()


def _fills_dsc(version: tuple[int, int] | None) -> bool:
    return version is not None and version >= BROWSER_FILLS_DSC


def _content_type(page: FetchedPage) -> str:
    return next(iter(page.header("content-type")), "no Content-Type")


def _is_html(page: FetchedPage) -> bool:
    """An HTML page, or one that names no type (a browser sniffs it; so does the checker)."""
    media = _content_type(page).partition(";")[0].strip().lower()
    return media in ("text/html", "application/xhtml+xml", "no content-type")


def _not_html(page: FetchedPage, options: Options) -> Finding:
    if options.accept:  # asked for on purpose: nothing for a browser SDK to read, nothing wrong
        return Finding(
            "warn",
            f"not an HTML page ({_content_type(page)}), as --accept asked: a browser SDK reads "
            "the trace from the HTML page it loads, so there is no handshake to check here",
        )
    return Finding(
        "fail",
        f"not an HTML page ({_content_type(page)}): browser SDKs read the trace from the "
        "HTML page they load; check the URL of a page",
    )


def _status(page: FetchedPage) -> Finding:
    text = f"HTTP {page.status}, {_content_type(page)}, {len(page.html)} characters"
    return Finding("info" if 200 <= page.status < 300 else "warn", text)


class _Read(NamedTuple):
    """One channel's trace ids: the first value of each name, parsed."""

    sentry_trace: IncomingTrace | None
    traceparent: IncomingTrace | None


_Parser = Callable[[str], IncomingTrace | None]


def check_handover(page: FetchedPage, rules: Rules = DEFAULT_RULES) -> list[Finding]:
    """Whether the meta tags and Server-Timing entries are present, valid and agree."""
    handover = page.handover
    findings: list[Finding] = []
    channels: list[tuple[str, _Read]] = []
    for channel, values in (("meta", handover.meta), ("Server-Timing", handover.server_timing)):
        if not values:
            where = "no trace meta tags" if channel == "meta" else "Server-Timing: absent"
            findings.append(Finding("info", where))
            continue
        read, problems = _read_channel(channel, values, rules)
        findings += problems
        channels.append((channel, read))
    if handover.malformed_metrics:
        findings.append(
            Finding("warn", f"Server-Timing: {handover.malformed_metrics} malformed entries")
        )
    if len(channels) == 2:
        findings += _agree(channels[0][1], channels[1][1])
    handed_over = page_trace(page)
    if "trace" in handover.server_timing:  # W3C Trace Context Level 3's Server-Timing metric
        findings.append(_trace_metric_finding(handover.server_timing["trace"][0], handed_over))
    if handover.elastic:
        findings.append(_elastic_finding(handover.elastic, handed_over))
    if not any(read.sentry_trace or read.traceparent for _, read in channels):
        if _shared_cacheable(page):  # what metatrace does on such pages (STRIP_CACHEABLE)
            text = (
                "no trace on a page that shared caches may store: safe, the browser starts its own"
            )
        else:
            text = "the page hands the browser no valid trace: the browser starts its own"
        findings.append(Finding("warn", text))
    return findings


def _read_channel(
    channel: str, values: dict[str, list[str]], rules: Rules
) -> tuple[_Read, list[Finding]]:
    findings: list[Finding] = []
    for name in HANDOVER_NAMES:
        found = values.get(name, [])
        if len(found) > 1:
            findings.append(
                Finding(
                    "fail", f"{channel} {name}: {len(found)} of them; the browser reads the first"
                )
            )
    first = {name: found[0] for name, found in values.items()}
    sentry_trace = _parsed(channel, "sentry-trace", first, parse_sentry_trace, findings)
    if "baggage" in first:
        findings.append(_baggage_finding(channel, first["baggage"], sentry_trace))
    elif sentry_trace is not None and rules.fills_dsc:
        findings.append(
            Finding(
                "ok",
                f"{channel} baggage: absent, next to a sentry-trace: @sentry/browser 11.17 and "
                "later continue the trace with a dynamic sampling context of their own",
            )
        )
    elif sentry_trace is not None:
        findings.append(
            Finding(
                "fail",
                f"{channel} baggage: absent, next to a sentry-trace: @sentry/browser 11.12 and "
                "earlier continue the trace with an empty dynamic sampling context, and send "
                "no public key (11.17 and later fill in their own: if the pages load one, "
                "say so with --sentry-browser-version)",
            )
        )
    traceparent = _parsed(channel, "traceparent", first, parse_traceparent, findings)
    if sentry_trace and traceparent and sentry_trace.trace_id != traceparent.trace_id:
        findings.append(
            Finding("fail", f"{channel}: traceparent and sentry-trace carry different traces")
        )
    elif sentry_trace and traceparent and sentry_trace.parent_span_id != traceparent.parent_span_id:
        findings.append(
            Finding("warn", f"{channel}: traceparent and sentry-trace carry different span ids")
        )
    trace_id = (sentry_trace or traceparent or _NO_TRACE).trace_id
    if "tracestate" in first:
        findings.append(Finding("ok", f"{channel} tracestate: {first['tracestate']}"))
    if "dd-trace-id" in first or "dd-trace-time" in first:
        findings.append(_datadog_finding(channel, first, trace_id))
    return _Read(sentry_trace, traceparent), findings


_NO_TRACE = IncomingTrace("", "", None)
DATADOG_MAX_AGE = 120  # seconds: Datadog's browser RUM ignores an older dd-trace-time


def _trace_metric_finding(value: str, handed_over: IncomingTrace | None) -> Finding:
    parsed = parse_traceparent(value)
    if parsed is None:
        return Finding("fail", f"Server-Timing trace: invalid: {value[:200]!r}")
    if handed_over is not None and _ids(parsed) != _ids(handed_over):
        return Finding(
            "fail",
            f"Server-Timing trace: {_ids(parsed)} is not the trace the page hands the browser "
            f"({_ids(handed_over)})",
        )
    return Finding("ok", f"Server-Timing trace: {value}")


def _elastic_finding(scripts: tuple[str, ...], handed_over: IncomingTrace | None) -> Finding:
    """Elastic RUM's page-load values: one script, with valid ids of the page's trace."""
    if len(scripts) > 1:
        return Finding("fail", f"{len(scripts)} Elastic page-load scripts: render one")
    try:
        values = json.loads(scripts[0])
    except ValueError:
        values = None
    if not isinstance(values, dict):
        return Finding("fail", f"Elastic page-load script: not a JSON object: {scripts[0][:200]!r}")
    trace_id, span_id = values.get("pageLoadTraceId"), values.get("pageLoadSpanId")
    valid = is_id(trace_id, 32) and is_id(span_id, 16)
    if not valid or not isinstance(values.get("pageLoadSampled"), bool):
        return Finding("fail", f"Elastic page-load values: invalid: {scripts[0][:200]!r}")
    if handed_over is not None and trace_id != handed_over.trace_id:
        return Finding(
            "fail",
            f"Elastic page-load trace {trace_id} is not the trace the page hands the "
            f"browser ({handed_over.trace_id})",
        )
    return Finding(
        "ok",
        f"Elastic page-load: trace {trace_id}, span {span_id}, sampled {values['pageLoadSampled']}",
    )


def _datadog_finding(channel: str, first: dict[str, str], trace_id: str) -> Finding:
    """Datadog RUM's tags: the low 64 bits of the page's trace id in decimal, and a
    dd-trace-time in epoch milliseconds that is at most two minutes old (at fetch time)."""
    dd_id, dd_time = first.get("dd-trace-id", ""), first.get("dd-trace-time", "")
    # At most 20 digits for 64 bits, 16 for a time in milliseconds; int() reads no others.
    if not (_digits(dd_id, 20) and _digits(dd_time, 16)):
        return Finding(
            "fail",
            f"{channel} dd-trace-id and dd-trace-time: need both, in digits: "
            f"{dd_id[:40]!r}, {dd_time[:40]!r}",
        )
    if trace_id and int(dd_id) != int(trace_id[16:], 16):
        return Finding(
            "fail",
            f"{channel} dd-trace-id {dd_id} is not the page's trace {trace_id} (its low 64 "
            "bits in decimal)",
        )
    return Finding("ok", f"{channel} dd-trace-id: {dd_id}")


def _digits(text: str, most: int) -> bool:
    return text.isascii() and text.isdigit() and len(text) <= most


def check_datadog_time(page: FetchedPage) -> list[Finding]:
    """Whether Datadog RUM will take the page's trace: a dd-trace-time of the last two
    minutes, as the browser sees it when the page arrives."""
    values = page.handover.meta.get("dd-trace-time")
    if not values or not _digits(values[0], 16):  # _datadog_finding fails any other value
        return []
    age = page.fetched_at - int(values[0]) / 1000
    if age > DATADOG_MAX_AGE:
        return [
            Finding(
                "fail",
                f"dd-trace-time is {age:.0f} s old: Datadog RUM ignores the trace after "
                f"{DATADOG_MAX_AGE} s (a cache served a stored page?)",
            )
        ]
    return [Finding("ok", f"dd-trace-time is {max(age, 0.0):.1f} s old (Datadog RUM takes it)")]


def _parsed(
    channel: str, name: str, first: dict[str, str], parse: _Parser, findings: list[Finding]
) -> IncomingTrace | None:
    """`first[name]` parsed, and a finding that says whether it is valid (or absent)."""
    if name not in first:
        if name == "traceparent":
            findings.append(Finding("info", f"{channel} traceparent: absent (W3C off)"))
        return None
    value = first[name]
    parsed = parse(value)
    if parsed is None:
        findings.append(Finding("fail", f"{channel} {name}: invalid: {value[:200]!r}"))
    else:
        findings.append(Finding("ok", f"{channel} {name}: {value}"))
    return parsed


def _baggage_finding(channel: str, value: str, sentry_trace: IncomingTrace | None) -> Finding:
    label = f"{channel} baggage"
    dsc = parse_baggage(value).sentry
    if not dsc:
        return Finding("fail", f"{label}: no sentry- items in {value[:200]!r}")
    missing = [key for key in ("trace_id", "public_key") if key not in dsc]
    if missing:
        return Finding("fail", f"{label}: the DSC lacks {' and '.join(missing)}: {value[:200]!r}")
    if sentry_trace is not None and dsc["trace_id"] != sentry_trace.trace_id:
        return Finding("fail", f"{label}: its trace_id {dsc['trace_id']} is not the sentry-trace's")
    return Finding("ok", f"{label}: {value}")


def _agree(meta: _Read, timing: _Read) -> list[Finding]:
    for one, other in (
        (meta.sentry_trace, timing.sentry_trace),
        (meta.traceparent, timing.traceparent),
    ):
        if one and other and one != other:
            return [
                Finding(
                    "fail",
                    "the meta tags and Server-Timing carry different traces: "
                    f"{_ids(one)} and {_ids(other)}",
                )
            ]
    return []


def _ids(trace: IncomingTrace) -> str:
    return f"{trace.trace_id}-{trace.parent_span_id}"


def page_trace(page: FetchedPage) -> IncomingTrace | None:
    """The trace the browser continues: sentry-trace, else traceparent; meta, else Server-Timing."""
    traces = page_traces(page)
    order = ("meta sentry-trace", "Server-Timing sentry-trace", "meta traceparent")
    return next((traces[channel] for channel in order if channel in traces), None) or next(
        iter(traces.values()), None
    )


# The channels that hand a trace over, each judged on its own: a reader takes one of them.
CHANNELS = (
    ("meta", "sentry-trace", parse_sentry_trace),
    ("meta", "traceparent", parse_traceparent),
    ("Server-Timing", "sentry-trace", parse_sentry_trace),
    ("Server-Timing", "traceparent", parse_traceparent),
)


def page_traces(page: FetchedPage) -> dict[str, IncomingTrace]:
    """Each channel's trace ("meta sentry-trace" -> its trace), of the valid first values."""
    handover = page.handover
    found = {}
    for where, name, parse in CHANNELS:
        values = handover.meta if where == "meta" else handover.server_timing
        parsed = parse(values[name][0]) if name in values else None
        if parsed is not None:
            found[f"{where} {name}"] = parsed
    return found


def _named(channels: list[str]) -> str:
    """The channels a finding judges, by name; all four as "every channel"."""
    if len(channels) == len(CHANNELS):
        return "every channel"
    return ", ".join(channels)


def page_dsc(page: FetchedPage) -> dict[str, str] | None:
    """The decoded sentry- items of the page's baggage (meta, else Server-Timing)."""
    handover = page.handover
    for values in (handover.meta, handover.server_timing):
        if "baggage" in values:
            return parse_baggage(values["baggage"][0]).sentry
    return None


def check_continued(page: FetchedPage, probe: Probe) -> list[Finding]:
    """Whether each channel continued the checker's trace: same trace id, a span of the
    server's own, the sampled flag kept; and whether the DSC was kept."""
    traces = page_traces(page)
    if not traces and _shared_cacheable(page):
        return [Finding("info", "not continued: there is no trace on this cacheable page")]
    if not traces:
        return [Finding("fail", "not continued: the page hands the browser no trace at all")]
    findings = []
    for trace_id, channels in _by(traces, lambda t: t.trace_id).items():
        if trace_id != probe.trace_id:
            why = (
                "; with strict trace continuation, pass --dsn so that the checker sends the org"
                if probe.org_id is None
                else f"; or the server's org is not {probe.org_id}, the org of --dsn"
            )
            findings.append(
                Finding(
                    "fail",
                    f"not continued: {_named(channels)} "
                    f"{'carries' if len(channels) in (1, len(CHANNELS)) else 'carry'} "
                    f"trace {trace_id}, not the checker's {probe.trace_id}: the server ignored "
                    f"the incoming headers, or a cache served a stored page{why}",
                )
            )
    continued = {c: t for c, t in traces.items() if t.trace_id == probe.trace_id}
    if not continued:
        return findings
    findings.append(
        Finding("ok", f"continued: same trace id {probe.trace_id} ({_named([*continued])})")
    )
    for span_id, channels in _by(continued, lambda t: t.parent_span_id).items():
        if span_id == probe.span_id:
            findings.append(
                Finding(
                    "fail",
                    f"span id {span_id} ({_named(channels)}) is the checker's own: the server "
                    "must give its request a span of its own, the browser's parent",
                )
            )
        else:
            findings.append(
                Finding(
                    "ok",
                    f"new span id {span_id} (the checker sent {probe.span_id}; {_named(channels)})",
                )
            )
    for sampled, channels in _by(continued, lambda t: t.sampled).items():
        if sampled is True:
            findings.append(Finding("ok", f"sampled flag kept (1; {_named(channels)})"))
        else:
            flag = "deferred" if sampled is None else "0"
            findings.append(
                Finding(
                    "fail",
                    f"sampled flag not kept: the checker sent 1, {_named(channels)} "
                    f"{'has' if len(channels) == 1 else 'have'} {flag}",
                )
            )
    dsc = page_dsc(page)
    if dsc is not None and dsc.get("public_key") == probe.public_key:
        findings.append(
            Finding("ok", "the checker's DSC is kept (its public key is in the baggage)")
        )
    elif dsc is not None:
        findings.append(
            Finding(
                "fail",
                "the baggage is not the checker's DSC: a continued trace keeps the "
                f"DSC of its head (public_key {dsc.get('public_key')!r})",
            )
        )
    return findings


def _by(
    traces: dict[str, IncomingTrace], key: Callable[[IncomingTrace], object]
) -> dict[Any, list[str]]:
    """The channels of `traces`, grouped by `key` of their trace, in channel order."""
    groups: dict[Any, list[str]] = {}
    for channel, trace in traces.items():
        groups.setdefault(key(trace), []).append(channel)
    return groups


def check_started(
    page: FetchedPage, probe: Probe, first: FetchedPage | None = None
) -> list[Finding]:
    """Whether the page started a trace of its own that the browser can continue (in the
    channels whose trace is neither the checker's nor the one of `first`, the page fetched
    before: check_replay judges those)."""
    before = page_traces(first) if first is not None else {}
    traces = {
        channel: trace
        for channel, trace in page_traces(page).items()
        if trace.trace_id != probe.trace_id
        and (channel not in before or before[channel].trace_id != trace.trace_id)
    }
    if not traces:
        return []  # check_handover or check_replay says what is wrong
    findings = []
    for trace_id, channels in _by(traces, lambda t: t.trace_id).items():
        if not any(channel.endswith("sentry-trace") for channel in channels):
            findings.append(
                Finding(
                    "warn",
                    f"trace {trace_id} in traceparent only ({_named(channels)}): "
                    "@sentry/browser starts its own trace (give the server a DSN to hand it over)",
                )
            )
        else:
            findings.append(Finding("ok", f"started trace {trace_id} ({_named(channels)})"))
    return findings


def check_replay(first: FetchedPage, second: FetchedPage, probe: Probe) -> list[Finding]:
    """Whether the second visitor got the first one's trace, channel by channel: a cache
    replaying a stored page, or a tag that names one trace for everyone."""
    one, two = page_traces(first), page_traces(second)
    findings = []
    probed = [channel for channel, trace in two.items() if trace.trace_id == probe.trace_id]
    if probed:
        findings.append(
            Finding(
                "fail",
                f"replayed: fetch 2 sent no trace, yet got the checker's trace {probe.trace_id} "
                f"from fetch 1 ({_named(probed)}): a cache stored the page with one visitor's "
                "trace and serves it to the next",
            )
        )
    same = {
        channel: trace
        for channel, trace in two.items()
        if channel not in probed and channel in one and one[channel].trace_id == trace.trace_id
    }
    for trace_id, channels in _by(same, lambda t: t.trace_id).items():
        findings.append(
            Finding(
                "fail",
                f"replayed: both fetches got trace {trace_id} ({_named(channels)}): a cache, or "
                "a tag written once, serves one visitor's trace to everyone",
            )
        )
    compared = [c for c in two if c in one and c not in probed and c not in same]
    if findings:
        if compared:
            findings.append(Finding("ok", f"each fetch got a trace of its own: {_named(compared)}"))
        return findings
    if not compared:
        return [Finding("info", "replay: not compared, a fetch carried no trace")]
    return [
        Finding(
            "ok",
            f"each fetch got a trace of its own: no cache replays the trace ({_named(compared)})",
        )
    ]


def check_caching(first: FetchedPage, second: FetchedPage) -> list[Finding]:
    """What Cache-Control, Age and Via say, fetch by fetch where they differ."""
    findings = []
    for name, explain in (("Cache-Control", _cache_control), ("Age", _age), ("Via", _via)):
        values = [", ".join(page.header(name.lower())) or None for page in (first, second)]
        if values[0] == values[1]:
            findings.append(Finding("info", f"{name}: {explain(values[1], second)}"))
        else:
            for number, (value, page) in enumerate(zip(values, (first, second), strict=True), 1):
                findings.append(Finding("info", f"{name} (fetch {number}): {explain(value, page)}"))
    exposed = [
        str(number)
        for number, page in enumerate((first, second), 1)
        if _shared_cacheable(page)
        and (page.handover.meta or page.handover.server_timing or page.handover.elastic)
    ]
    if exposed:
        which = f"fetch {exposed[0]} may" if len(exposed) == 1 else "fetches 1 and 2 may each"
        channels = "meta tags or Server-Timing"
        if first.handover.elastic or second.handover.elastic:
            channels = "meta tags, Server-Timing or Elastic's page-load script"
        findings.append(
            Finding(
                "fail",
                f"{which} be stored by a shared cache with a visitor's trace (in its "
                f"{channels}): the cache would hand that trace to the next visitors",
            )
        )
    return findings


def _shared_cacheable(page: FetchedPage) -> bool:
    cache_control = ", ".join(page.header("cache-control")) or None
    expires, date = (next(iter(page.header(name)), None) for name in ("expires", "date"))
    return is_shared_cacheable(cache_control, expires, date)


def _cache_control(value: str | None, page: FetchedPage) -> str:
    lowered = (value or "").lower()
    if _shared_cacheable(page):
        meaning = "shared caches, a CDN or a proxy, may store this page"
    elif "no-store" in lowered:
        meaning = "no cache may store this page"
    elif "private" in lowered:
        meaning = "only the visitor's browser may store this page"
    else:
        meaning = "no explicit permission for shared caches"
    return f"{value} ({meaning})" if value else f"absent ({meaning})"


def _age(value: str | None, page: FetchedPage) -> str:
    if value is None:
        return "absent (no cache said it served a stored copy)"
    if not value.strip().isdigit():
        return f"{value} (not a number of seconds: caches must ignore it)"
    return f"{value} (served from a cache, stored {value.strip()} s before)"


def _via(value: str | None, page: FetchedPage) -> str:
    return "absent (no proxy announced itself)" if value is None else f"{value} (through a proxy)"


def check_dsn(dsn: str | None, started: FetchedPage, probe: Probe) -> list[Finding]:
    """Whether the DSC of the trace the server started carries the DSN's public key and org."""
    if not dsn:
        return [Finding("info", "not checked: give --dsn to compare the public key and org")]
    expected = parse_dsn(dsn)
    dsc = page_dsc(started)
    if dsc is None and page_trace(started) is None and _shared_cacheable(started):
        return [
            Finding("info", "not checked: fetch 2 carries no trace (shared caches may store it)")
        ]
    if dsc is None:
        return [
            Finding(
                "fail",
                "fetch 2 started a trace with no baggage, so no public key: "
                "is the server's DSN set?",
            )
        ]
    if dsc.get("public_key") == probe.public_key:
        return [Finding("info", "not checked: fetch 2 got the checker's own DSC back (replayed)")]
    findings = []
    key = dsc.get("public_key")
    if key == expected.public_key:
        findings.append(Finding("ok", f"public key {key} matches --dsn"))
    else:
        findings.append(
            Finding("fail", f"public key {key!r} in the baggage, {expected.public_key!r} in --dsn")
        )
    org = dsc.get("org_id")
    if expected.org_id is None:
        findings.append(Finding("info", "org not compared: the DSN's host names no org (oNNN.)"))
    elif org == expected.org_id:
        findings.append(Finding("ok", f"org {org} matches --dsn"))
    elif org is None:
        findings.append(
            Finding("warn", f"the baggage carries no org_id; --dsn says {expected.org_id}")
        )
    else:
        findings.append(Finding("fail", f"org {org} in the baggage, {expected.org_id} in --dsn"))
    return findings


# ---------------------------------------------------------------------------------------------
