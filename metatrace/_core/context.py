"""The trace context: one request's (or job's) place in a trace, an immutable value that
renders itself (the meta tags, the Server-Timing entries, the outgoing headers).

Creating a context only stores the raw incoming strings and draws its random bits; parsing
waits until someone reads an id, the tags or the headers. All randomness is drawn up front,
so two threads resolving the same context at once compute the same values.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from math import ceil
from random import getrandbits
from types import MappingProxyType
from typing import NamedTuple, cast

from markupsafe import Markup, escape

from . import config as configuration
from . import formats
from .carriers import NOTHING
from .config import Config
from .formats import ZERO_SPAN, ZERO_TRACE, new_tuple
from .head import Head, make_head
from .timing import quoted_string
from .withheld import tags_withheld

logger = logging.getLogger("metatrace")

_MASK64 = (1 << 64) - 1
_MASK128 = (1 << 128) - 1
# A sample_rand every reader takes for the same number: Python's float() and JavaScript's
# parseFloat() agree on plain decimals (parseFloat would read "0.5abc" as 0.5, float refuses).
_DECIMAL_RE = re.compile(r"(?:[0-9]++(?:\.[0-9]*+)?|\.[0-9]++)(?:[eE][+-]?[0-9]++)?")


class _Resolved(NamedTuple):
    trace_id: str
    parent_span_id: str | None
    sampled: bool | None
    dsc: dict[str, str]  # field -> percent-encoded value, ready for the wire
    sentry_baggage: str  # the dsc's members, as they lead the outgoing header and fill the tag
    third_party: tuple[str, ...]  # as they came; what the header keeps of them is fitted later
    # The outgoing header when it is known without fitting the third-party members: the tag
    # needs only the sentry members, so the rest waits until a header goes out.
    baggage: str | None
    tracestate: str | None  # the traceparent's, if the trace continued is its trace


class Rendered(NamedTuple):
    """What a page carries, rendered once for the configuration `config`."""

    config: Config
    tags: Markup  # the escaped <meta> tags
    server_timing: str  # the same values as Server-Timing entries ("" for none)
    trace_id: bytes  # ASCII, to search a page's bytes for
    # The tags' values, unescaped; None for a tag the page does not carry.
    sentry_trace: str | None
    baggage: str | None
    traceparent: str | None
    tracestate: str | None = None

    @property
    def fields(self) -> tuple[tuple[str, str], ...]:
        """(name, value) of each tag, in their order."""
        pairs = (
            ("sentry-trace", self.sentry_trace),
            ("baggage", self.baggage),
            ("traceparent", self.traceparent),
            ("tracestate", self.tracestate),
        )
        return tuple((name, value) for name, value in pairs if value is not None)


# sentry-trace, baggage, traceparent, tracestate, as they came.
_Incoming = tuple[str | None, str | None, str | None, str | None]


class _Span(NamedTuple):
    trace_id: str
    span_id: str
    sampled: bool | None


class TraceContext:
    """One request's (or job's) place in a trace. Read-only; parsed on first use."""

    __slots__ = ("_fitted", "_headers", "_incoming", "_meta", "_rand", "_resolved")
    # The raw incoming strings, parsed on first use; None when nothing came in (a tracestate
    # alone is nothing: it travels only with its traceparent), and this context starts a trace.
    _incoming: _Incoming | None
    # 64 bits of span id, 128 of trace id (used if we start the trace), 64 for sample_rand.
    _rand: int
    _resolved: _Resolved | None
    _fitted: tuple[tuple[str, ...], str] | None  # third-party kept, header
    # Rendered output, valid for the configuration it was rendered with.
    _meta: Rendered | None
    _headers: tuple[Config, dict[str, str]] | None

    def __init__(
        self,
        sentry_trace: str | None = None,
        baggage: str | None = None,
        traceparent: str | None = None,
        tracestate: str | None = None,
    ) -> None:
        self._incoming = (
            (sentry_trace, baggage, traceparent, tracestate)
            if sentry_trace or baggage or traceparent
            else None
        )
        self._rand = getrandbits(256)
        self._resolved = self._fitted = self._meta = self._headers = None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.sentry_trace}>"

    @property
    def trace_id(self) -> str:
        return self._resolve().trace_id

    @property
    def span_id(self) -> str:
        """This request's own span id: the parent of whatever it calls or renders."""
        return f"{(self._rand & _MASK64) or 1:016x}"  # as _hex_ids() gives it

    @property
    def parent_span_id(self) -> str | None:
        """The sender's span id, or None when this context started the trace."""
        return self._resolve().parent_span_id

    @property
    def sampled(self) -> bool | None:
        return self._resolve().sampled

    @property
    def continued(self) -> bool:
        return self._resolve().parent_span_id is not None

    @property
    def dsc(self) -> Mapping[str, str]:
        """Sentry's dynamic sampling context: the decoded `sentry-` baggage items."""
        dsc = self._resolve().dsc
        return MappingProxyType({key: formats.decode_value(value) for key, value in dsc.items()})

    @property
    def third_party_baggage(self) -> tuple[str, ...]:
        """The third-party members that the outgoing header carries."""
        return self._outgoing()[0]

    @property
    def sentry_trace(self) -> str:
        state = self._resolve()
        return formats.format_sentry_trace(state.trace_id, self.span_id, state.sampled)

    @property
    def traceparent(self) -> str:
        state = self._resolve()
        return formats.format_traceparent(state.trace_id, self.span_id, state.sampled)

    @property
    def baggage(self) -> str:
        """The outgoing `baggage` header value (may be empty)."""
        return self._outgoing()[1]

    def _outgoing(self) -> tuple[tuple[str, ...], str]:
        """The third-party members the header keeps, and the header: exactly what it carries."""
        state = self._resolve()
        if state.baggage is not None:
            return state.third_party, state.baggage
        fitted = self._fitted
        if fitted is None:
            # The sentry members lead and were fitted alone, so the same ones fit here.
            _, third_party, header = formats.fit_baggage(state.dsc, state.third_party)
            fitted = self._fitted = (third_party, header)
        return fitted

    def incoming_baggage(self, trace_id: str) -> str | None:
        """The baggage header that came in, if this context continued the trace `trace_id`:
        for a tracer that continued the same headers but keeps no baggage of its own."""
        raw = self._incoming[1] if self._incoming is not None else None
        return raw if raw and self.trace_id == trace_id else None

    @property
    def tracestate(self) -> str | None:
        """The `tracestate` that travels with the outgoing `traceparent`, if any."""
        return self._resolve().tracestate

    def headers(self) -> dict[str, str]:
        """Outgoing propagation headers; a fresh dict each call, so callers may add to it."""
        config = configuration.get_config()
        cached = self._headers
        if cached is None or cached[0] is not config:
            headers = {"sentry-trace": self.sentry_trace}
            baggage = self.baggage
            if baggage:
                headers["baggage"] = baggage
            if config.w3c:
                headers["traceparent"] = self.traceparent
                tracestate = self.tracestate
                if tracestate:
                    headers["tracestate"] = tracestate
            cached = self._headers = (config, headers)
        return dict(cached[1])

    def meta(self) -> Markup:
        """The escaped `<meta>` tags for this context, rendered once and cached; none while
        a page that a shared cache may store streams (`withhold_tags`)."""
        if tags_withheld():
            return NO_TAGS
        config = configuration.configured or configuration.get_config()
        cached = self._meta
        if cached is None or cached[0] is not config:
            cached = self._render(config)
        return cached[1]

    def page(self) -> Rendered:
        """What a page carries: the tags, and the same values for Server-Timing."""
        config = configuration.configured or configuration.get_config()
        cached = self._meta
        if cached is None or cached[0] is not config:
            cached = self._render(config)
        return cached

    def page_fields(self) -> tuple[tuple[str, str], ...]:
        """What the tags carry, as (name, value) pairs, unescaped: for Server-Timing."""
        return self.page().fields

    def _render(self, config: Config) -> Rendered:
        """Decide once what a page carries; the tags and Server-Timing both come from here.

        A trace we start with a key (most page loads) is resolved and rendered here in one
        step, from the part of the DSC that the settings fix: what `_complete` and
        `_render_resolved` make of it (the tests compare the two), with no escaping, since
        every value is hex, a decimal or a setting that `encode_value` encoded.
        """
        head = _head_cache  # _head(config), inline: this runs for most page loads
        if head is None or head.config is not config:
            head = _head(config)
        if self._incoming is not None or self._resolved is not None or head.members is None:
            self._meta = self._render_resolved(config)
            return self._meta
        rand = self._rand
        text = rand.to_bytes(32, "big").hex()  # _hex_ids(), inline
        trace_id = text[16:48]
        span_id = text[48:]
        if trace_id == ZERO_TRACE or span_id == ZERO_SPAN:
            trace_id, span_id = _hex_ids(rand)
        draw = (rand >> 192) % 1_000_000  # as _sample_rand() draws it, undecided
        sample_rand = "0.%06d" % draw  # noqa: UP031 (twice as fast as the f-string of a float)
        rate = config.traces_sample_rate
        # The template's keys are in their order: filling them in keeps it.
        if rate is None:
            sampled = None
            dsc = dict(head.dsc_template, trace_id=trace_id, sample_rand=sample_rand)
            sentry_trace = f"{trace_id}-{span_id}"
            baggage = f"sentry-trace_id={trace_id}{head.members},sentry-sample_rand={sample_rand}"
        else:
            sampled = draw / 1_000_000 < rate  # the same float as float(sample_rand)
            flag = "true" if sampled else "false"
            dsc = dict(head.dsc_template, trace_id=trace_id, sample_rand=sample_rand, sampled=flag)
            sentry_trace = f"{trace_id}-{span_id}-{'1' if sampled else '0'}"
            baggage = (
                f"sentry-trace_id={trace_id}{head.members},sentry-sample_rate={head.rate},"
                f"sentry-sample_rand={sample_rand},sentry-sampled={flag}"
            )
        self._resolved = new_tuple(
            _Resolved, (trace_id, None, sampled, dsc, baggage, (), baggage, None)
        )
        html = (
            f'<meta name="sentry-trace" content="{sentry_trace}">'
            f'<meta name="baggage" content="{baggage}">'
        )
        # No quoted-string escapes: the values hold no quote and no backslash.
        timing = f'sentry-trace;desc="{sentry_trace}", baggage;desc="{baggage}"'
        traceparent = None
        if config.w3c:
            traceparent = f"00-{trace_id}-{span_id}-{'00' if sampled is False else '01'}"
            html += f'<meta name="traceparent" content="{traceparent}">'
            timing += f', traceparent;desc="{traceparent}"'
        self._meta = new_tuple(
            Rendered,
            (
                config,
                str.__new__(Markup, html),  # `html` is safe: Markup() would look for __html__
                timing,
                trace_id.encode(),
                sentry_trace,
                baggage,
                traceparent,
                None,
            ),
        )
        return self._meta

    def _render_resolved(self, config: Config) -> Rendered:
        state = self._resolve()
        trace_id, _, sampled, dsc, baggage = state[:5]
        span_id = self.span_id
        # The ids are hex by construction (parsed by a strict regex or formatted from ints),
        # so only the baggage, whose values came from the request, needs escaping.
        # No sentry-trace without a DSC (no key, none came in), unless the browser fills in
        # its own: @sentry/browser 11.12 and earlier freeze the missing DSC as {} and send no
        # public key; 11.17 and later make one from their own client (SENTRY_BROWSER_VERSION).
        sentry_trace = traceparent = tracestate = None
        html = timing = ""
        if dsc or config.browser_fills_dsc:
            sentry_trace = formats.format_sentry_trace(trace_id, span_id, sampled)
            html = f'<meta name="sentry-trace" content="{sentry_trace}">'
            timing = f', sentry-trace;desc="{sentry_trace}"'
        if dsc:
            # The common baggage holds nothing that markupsafe's escape() replaces or that a
            # quoted-string escapes. Six substring tests: a regex search for the six costs
            # six times as much on a baggage of 280 characters.
            if not (
                "&" in baggage
                or "<" in baggage
                or ">" in baggage
                or "'" in baggage
                or '"' in baggage
                or "\\" in baggage
            ):
                html += f'<meta name="baggage" content="{baggage}">'
                timing += f', baggage;desc="{baggage}"'
            else:
                html += f'<meta name="baggage" content="{escape(baggage)}">'
                timing += f", baggage;desc={quoted_string(baggage)}"
        if config.w3c:
            traceparent = formats.format_traceparent(trace_id, span_id, sampled)
            html += f'<meta name="traceparent" content="{traceparent}">'
            timing += f', traceparent;desc="{traceparent}"'
            if config.tracestate and state.tracestate:  # Application Insights reads it
                tracestate = state.tracestate
                html += f'<meta name="tracestate" content="{escape(tracestate)}">'
                timing += f", tracestate;desc={quoted_string(tracestate)}"
        if config.trace_metric:  # W3C Trace Context Level 3's Server-Timing metric
            metric = traceparent or formats.format_traceparent(trace_id, span_id, sampled)
            timing += f', trace;desc="{metric}"'
        return new_tuple(
            Rendered,
            (
                config,
                str.__new__(Markup, html),
                timing[2:],
                trace_id.encode(),
                sentry_trace,
                baggage if dsc else None,
                traceparent,
                tracestate,
            ),
        )

    def _resolve(self) -> _Resolved:
        state = self._resolved
        if state is None:
            state = self._resolved = self._parse(configuration.get_config())
        return state

    def _parse(self, config: Config) -> _Resolved:
        if self._incoming is None and _head(config).members is not None:
            # Most page loads: a browser navigation carries no trace, so we start one.
            self._render(config)  # resolved and rendered in one step
            return cast(_Resolved, self._resolved)
        sentry_trace, raw_baggage, traceparent, raw_tracestate = self._incoming or NOTHING
        incoming = None
        if sentry_trace:
            incoming = formats.parse_sentry_trace(sentry_trace)
            if incoming is None:
                logger.debug("metatrace: ignoring malformed sentry-trace %.100r", sentry_trace)
        parent = None  # the traceparent, parsed if it matters
        if incoming is None and traceparent:
            incoming = parent = formats.parse_traceparent(traceparent)
            if incoming is None:
                logger.debug("metatrace: ignoring malformed traceparent %.100r", traceparent)
        baggage = formats.parse_baggage(raw_baggage) if raw_baggage else formats.EMPTY_BAGGAGE
        org_id = baggage.sentry_encoded.get("org_id")
        if incoming is not None and not _same_org(
            config, None if org_id is None else formats.decode_value(org_id)
        ):
            logger.debug("metatrace: not continuing a trace of another organisation")
            incoming = None
        if incoming is None:
            trace_id = _hex_ids(self._rand)[0]
            return self._complete(config, trace_id, None, None, baggage, None)
        tracestate = None
        if raw_tracestate and traceparent:
            # W3C: tracestate belongs to its traceparent; it travels only with that trace.
            if parent is None:
                parent = formats.parse_traceparent(traceparent)
            if parent is not None and parent.trace_id == incoming.trace_id:
                tracestate = formats.parse_tracestate(raw_tracestate)
        return self._complete(config, *incoming, baggage, tracestate)

    def _complete(
        self,
        config: Config,
        trace_id: str,
        parent_span_id: str | None,
        sampled: bool | None,
        baggage: formats.Baggage,
        tracestate: str | None,
    ) -> _Resolved:
        """Pair the trace with its DSC: the incoming one if it is this trace's, else ours."""
        dsc = baggage.sentry_encoded
        if dsc and dsc.get("trace_id") != trace_id:  # _dsc_of(), its common case inline
            # A DSC belongs to its trace; one from another (or no) trace must not be reused.
            dsc = _dsc_of(dsc, trace_id) or {}
            if not dsc:
                logger.debug("metatrace: dropping baggage sentry items of another trace")
        if not dsc:
            sampled, dsc = self._head_dsc(config, trace_id, sampled, parent_span_id is None)
        elif not _valid_rand(dsc.get("sample_rand")):
            # As sentry-python does: otherwise each browser would draw its own sample_rand.
            # One that readers would not take for a number in [0, 1) is replaced too.
            dsc = {**dsc, "sample_rand": self._sample_rand(_rate(dsc), _sampled(dsc, sampled))}
        # What the header can carry is exactly what this context says it carries. The sentry
        # members lead it, so the ones that fit do not depend on the third-party ones.
        dsc, header = formats.fit_sentry(
            dsc, baggage.sentry_members if dsc is baggage.sentry_encoded else None
        )
        third_party = baggage.third_party
        outgoing = None if third_party else header
        return new_tuple(  # as in _render
            _Resolved,
            (trace_id, parent_span_id, sampled, dsc, header, third_party, outgoing, tracestate),
        )

    def _head_dsc(
        self, config: Config, trace_id: str, sampled: bool | None, started: bool
    ) -> tuple[bool | None, dict[str, str]]:
        """Decide the sampling of a trace we start (or continue undecided, with a key), and
        freeze a DSC when we are the first Sentry-aware hop and know our own public key."""
        rate = config.traces_sample_rate
        decides = sampled is None and rate is not None and (started or bool(config.public_key))
        rand = self._sample_rand(rate, sampled)  # agrees with an upstream decision if it can
        if decides and rate is not None:
            sampled = float(rand) < rate
        if config.public_key is None:
            return sampled, {}
        dsc = {"trace_id": trace_id, **_configured_dsc(config)}
        if decides:
            # Only a rate that took the decision: one from upstream came with none of ours.
            dsc["sample_rate"] = repr(rate)
        dsc["sample_rand"] = rand
        if sampled is not None:
            dsc["sampled"] = "true" if sampled else "false"
        return sampled, dsc

    def _sample_rand(self, rate: float | None, sampled: bool | None) -> str:
        """A sample_rand in [0, 1) with 6 decimals, as Sentry's SDKs send it, that agrees
        with a sampling decision already taken: below the rate if sampled, else not."""
        low, high = 0, 1_000_000
        if rate is not None and sampled is not None:
            # A rate with more than six decimals falls between two values: round the range inwards.
            scaled = rate * 1_000_000
            low, high = (0, int(scaled)) if sampled else (ceil(scaled), 1_000_000)
            if low >= high:  # the decision contradicts the rate; any value will do
                low, high = 0, 1_000_000
        return f"{(low + (self._rand >> 192) % (high - low)) / 1_000_000:.6f}"


class SpanContext(TraceContext):
    """The span that another tracer (sentry-sdk, OpenTelemetry) is running, rendered as is:
    its own span id, not a child of it."""

    __slots__ = ("_exact", "_own_dsc", "_span")

    def __init__(
        self,
        trace_id: str,
        span_id: str,
        sampled: bool | None,
        baggage: str | None,
        *,
        exact: bool,
        tracestate: str | None = None,
        own_dsc: Callable[[Config], Config] | None = None,
    ) -> None:
        super().__init__()
        # Never None: it renders the tracer's span, and never starts a trace of its own.
        self._incoming = (None, baggage, None, tracestate)
        # Drawn from the trace id, not at random: every rendering of the same span (the tags,
        # then Server-Timing) freezes the same sample_rand into a DSC of ours. From its low
        # 56 bits, which W3C (Level 2) and every tracer fill at random: dd-trace-py puts the
        # start time in the high bits, uuid4 its version and variant.
        self._rand = int(trace_id[18:], 16) << 192
        self._span = _Span(trace_id, span_id, sampled)
        # sentry-sdk: its DSC and baggage go out exactly as it made them, unless its DSC is
        # another trace's: then a DSC of ours, of the settings `own_dsc` makes.
        self._exact = exact
        self._own_dsc = own_dsc

    @property
    def span_id(self) -> str:
        return self._span.span_id

    def _parse(self, config: Config) -> _Resolved:
        trace_id, _span_id, sampled = self._span
        _, raw_baggage, _, raw_tracestate = self._incoming or NOTHING
        # The tracer's own header (what came in, and what it added): over the bound, its
        # third-party members give way first, and the trace's DSC is never lost for them.
        baggage, header = (
            formats.fit_tracer_baggage(raw_baggage) if raw_baggage else (formats.EMPTY_BAGGAGE, "")
        )
        tracestate = formats.parse_tracestate(raw_tracestate) if raw_tracestate else None
        dsc = baggage.sentry_encoded
        if self._exact and dsc and _dsc_of(dsc, trace_id) is dsc:
            return _Resolved(
                trace_id,
                None,
                sampled,
                dsc,
                formats.join_baggage(dsc),
                baggage.third_party,
                header,  # sentry-sdk's own, as it made it (within the bound)
                tracestate,
            )
        if self._own_dsc is not None:
            config = self._own_dsc(config)
        return self._complete(config, trace_id, None, sampled, baggage, tracestate)


# The head of the configuration in use, kept here: `_render` reads it inline, for most pages.
_head_cache: Head | None = None


def _head(config: Config) -> Head:
    global _head_cache
    if _head_cache is None or _head_cache.config is not config:
        _head_cache = make_head(config)
    return _head_cache


def _configured_dsc(config: Config) -> dict[str, str]:
    """The DSC items that come from the settings, encoded once per configuration."""
    return _head(config).dsc


def _hex_ids(rand: int) -> tuple[str, str]:
    """The trace id and span id that `rand` holds (bits 64-191 and 0-63), as hex: the same
    as formatting the two masked integers, in one step (a quarter of the time)."""
    text = rand.to_bytes(32, "big").hex()
    trace_id = text[16:48]
    span_id = text[48:]
    if trace_id == ZERO_TRACE or span_id == ZERO_SPAN:  # 1 in 2**64: W3C forbids all-zero
        trace_id = f"{((rand >> 64) & _MASK128) or 1:032x}"
        span_id = f"{(rand & _MASK64) or 1:016x}"
    return trace_id, span_id


def _dsc_of(dsc: dict[str, str], trace_id: str) -> dict[str, str] | None:
    """`dsc` if it is the DSC of `trace_id`, else None. Its trace id is compared decoded, as
    every reader decodes it; one spelled with escapes (`%37`) is written plainly."""
    theirs = dsc.get("trace_id")
    if theirs == trace_id:
        return dsc
    if theirs is None or "%" not in theirs or formats.decode_value(theirs) != trace_id:
        return None
    return {**dsc, "trace_id": trace_id}


def _same_org(config: Config, theirs: str | None) -> bool:
    """Sentry's rule: never join another org's trace; in strict mode, both ids or neither."""
    ours = config.org_id
    if ours and theirs:
        return ours == theirs
    return not (config.strict_trace_continuation and (ours or theirs))


def _valid_rand(value: str | None) -> bool:
    """Whether a sample_rand (as it travels) is a decimal in [0, 1)."""
    if value is None:
        return False
    if len(value) == 8 and value[:2] == "0." and value[2:].isdigit() and value.isascii():
        return True  # the common case: six decimals, as Sentry's SDKs send it
    text = formats.decode_value(value)
    return _DECIMAL_RE.fullmatch(text) is not None and float(text) < 1.0


def _rate(dsc: Mapping[str, str]) -> float | None:
    try:
        rate = float(formats.decode_value(dsc.get("sample_rate", "")))
    except ValueError:
        return None
    return rate if 0.0 <= rate <= 1.0 else None


def _sampled(dsc: Mapping[str, str], sampled: bool | None) -> bool | None:
    if sampled is not None:
        return sampled
    return {"true": True, "false": False}.get(dsc.get("sampled", ""))


NO_TAGS = Markup("")  # what a withheld rendering renders
