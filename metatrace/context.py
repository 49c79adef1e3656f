"""The trace context (an immutable value) and the holder of the active one (a ContextVar).

Creating a context only stores the raw incoming strings and draws its random bits; parsing
waits until someone reads an id, the tags or the headers. All randomness is drawn up front,
so two threads resolving the same context at once compute the same values.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from contextvars import ContextVar, Token
from random import getrandbits
from types import MappingProxyType, TracebackType
from typing import NamedTuple

from markupsafe import Markup, escape

from . import config as _settings
from . import formats
from .config import Config

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
    third_party: tuple[str, ...]
    baggage: str  # the outgoing header: exactly the dsc and third_party above
    sentry_baggage: str  # its sentry members alone, for the meta tag
    tracestate: str | None  # the traceparent's, if the trace continued is its trace


class _Span(NamedTuple):
    trace_id: str
    span_id: str
    sampled: bool | None


class TraceContext:
    """One request's (or job's) place in a trace. Read-only; parsed on first use."""

    __slots__ = (
        "_baggage",
        "_headers",
        "_meta",
        "_rand",
        "_resolved",
        "_sentry_trace",
        "_traceparent",
        "_tracestate",
    )

    def __init__(
        self,
        sentry_trace: str | None = None,
        baggage: str | None = None,
        traceparent: str | None = None,
        tracestate: str | None = None,
    ) -> None:
        self._sentry_trace = sentry_trace
        self._baggage = baggage
        self._traceparent = traceparent
        self._tracestate = tracestate
        # 64 bits of span id, 128 of trace id (used if we start the trace), 64 for sample_rand.
        self._rand = getrandbits(256)
        self._resolved: _Resolved | None = None
        # Rendered output, valid for the configuration it was rendered with: what a page
        # carries (for the tags and Server-Timing), and the tags.
        self._meta: tuple[Config, tuple[tuple[str, str], ...], Markup] | None = None
        self._headers: tuple[Config, dict[str, str]] | None = None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.sentry_trace}>"

    @property
    def trace_id(self) -> str:
        return self._resolve().trace_id

    @property
    def span_id(self) -> str:
        """This request's own span id: the parent of whatever it calls or renders."""
        return f"{(self._rand & _MASK64) or 1:016x}"

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
        return self._resolve().third_party

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
        return self._resolve().baggage

    @property
    def tracestate(self) -> str | None:
        """The `tracestate` that travels with the outgoing `traceparent`, if any."""
        return self._resolve().tracestate

    def headers(self) -> dict[str, str]:
        """Outgoing propagation headers; a fresh dict each call, so callers may add to it."""
        config = _settings.get_config()
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
        """The escaped `<meta>` tags for this context, rendered once and cached."""
        config = _settings.get_config()
        cached = self._meta
        if cached is None or cached[0] is not config:
            cached = self._render(config)
        return cached[2]

    def page_fields(self) -> tuple[tuple[str, str], ...]:
        """What the tags carry, as (name, value) pairs, unescaped: for Server-Timing."""
        config = _settings.get_config()
        cached = self._meta
        if cached is None or cached[0] is not config:
            cached = self._render(config)
        return cached[1]

    def _render(self, config: Config) -> tuple[Config, tuple[tuple[str, str], ...], Markup]:
        """Decide once what a page carries; the tags and `page_fields()` both come from here."""
        state = self._resolve()
        span_id = self.span_id
        # The ids are hex by construction (parsed by a strict regex or formatted from ints),
        # so only the baggage, whose values came from the request, needs escaping.
        fields: list[tuple[str, str]] = []
        html = ""
        if self._renders_sentry_trace(state):
            sentry_trace = formats.format_sentry_trace(state.trace_id, span_id, state.sampled)
            fields.append(("sentry-trace", sentry_trace))
            html = f'<meta name="sentry-trace" content="{sentry_trace}">'
        if state.dsc:
            baggage = state.sentry_baggage
            fields.append(("baggage", baggage))
            html += f'<meta name="baggage" content="{escape(baggage)}">'
        if config.w3c:
            traceparent = formats.format_traceparent(state.trace_id, span_id, state.sampled)
            fields.append(("traceparent", traceparent))
            html += f'<meta name="traceparent" content="{traceparent}">'
        self._meta = (config, tuple(fields), Markup(html))
        return self._meta

    def _renders_sentry_trace(self, state: _Resolved) -> bool:
        # A trace we started without a public key gets no Sentry tags: @sentry/browser would
        # freeze the empty DSC and lose its own key, so the browser must start the trace.
        return state.parent_span_id is not None or bool(state.dsc)

    def _resolve(self) -> _Resolved:
        state = self._resolved
        if state is None:
            state = self._resolved = self._parse(_settings.get_config())
        return state

    def _parse(self, config: Config) -> _Resolved:
        incoming = None
        if self._sentry_trace:
            incoming = formats.parse_sentry_trace(self._sentry_trace)
            if incoming is None:
                logger.debug(
                    "metatrace: ignoring malformed sentry-trace %.100r", self._sentry_trace
                )
        parent = None  # the traceparent, parsed if it matters
        if incoming is None and self._traceparent:
            incoming = parent = formats.parse_traceparent(self._traceparent)
            if incoming is None:
                logger.debug("metatrace: ignoring malformed traceparent %.100r", self._traceparent)
        baggage = formats.parse_baggage(self._baggage) if self._baggage else formats.EMPTY_BAGGAGE
        org_id = baggage.sentry_encoded.get("org_id")
        if incoming is not None and not _same_org(
            config, None if org_id is None else formats.decode_value(org_id)
        ):
            logger.debug("metatrace: not continuing a trace of another organisation")
            incoming = None
        if incoming is None:
            trace_id = f"{((self._rand >> 64) & _MASK128) or 1:032x}"
            return self._complete(config, trace_id, None, None, baggage, None)
        tracestate = None
        if self._tracestate and self._traceparent:
            # W3C: tracestate belongs to its traceparent; it travels only with that trace.
            if parent is None:
                parent = formats.parse_traceparent(self._traceparent)
            if parent is not None and parent.trace_id == incoming.trace_id:
                tracestate = formats.parse_tracestate(self._tracestate)
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
        if dsc and dsc.get("trace_id") != trace_id:
            # A DSC belongs to its trace; one from another (or no) trace must not be reused.
            logger.debug("metatrace: dropping baggage sentry items of another trace")
            dsc = {}
        if not dsc:
            sampled, dsc = self._head_dsc(config, trace_id, sampled, parent_span_id is None)
        elif not _valid_rand(dsc.get("sample_rand")):
            # As sentry-python does: otherwise each browser would draw its own sample_rand.
            # One that readers would not take for a number in [0, 1) is replaced too.
            dsc = {**dsc, "sample_rand": self._sample_rand(_rate(dsc), _sampled(dsc, sampled))}
        # What the header can carry is exactly what this context says it carries.
        dsc, third_party, header = formats.fit_baggage(dsc, baggage.third_party)
        sentry_header = header
        if third_party:  # the sentry members lead the header, and none holds a comma
            sentry_header = ",".join(header.split(",", len(dsc))[: len(dsc)])
        return _Resolved(
            trace_id, parent_span_id, sampled, dsc, third_party, header, sentry_header, tracestate
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
            cut = int(rate * 1_000_000)
            low, high = (0, cut) if sampled else (cut, 1_000_000)
            if low >= high:  # the decision contradicts the rate; any value will do
                low, high = 0, 1_000_000
        return f"{(low + (self._rand >> 192) % (high - low)) / 1_000_000:.6f}"


class SpanContext(TraceContext):
    """The span that another tracer (sentry-sdk, OpenTelemetry) is running, rendered as is:
    its own span id, not a child of it."""

    __slots__ = ("_exact", "_span")

    def __init__(
        self,
        trace_id: str,
        span_id: str,
        sampled: bool | None,
        baggage: str | None,
        *,
        exact: bool,
        tracestate: str | None = None,
    ) -> None:
        super().__init__(None, baggage, None, tracestate)
        self._span = _Span(trace_id, span_id, sampled)
        # sentry-sdk: its DSC and baggage go out exactly as it made them.
        self._exact = exact

    @property
    def span_id(self) -> str:
        return self._span.span_id

    def _renders_sentry_trace(self, state: _Resolved) -> bool:
        return True  # the tracer reports this trace, so the browser should join it

    def _parse(self, config: Config) -> _Resolved:
        trace_id, _span_id, sampled = self._span
        baggage = formats.parse_baggage(self._baggage) if self._baggage else formats.EMPTY_BAGGAGE
        tracestate = formats.parse_tracestate(self._tracestate) if self._tracestate else None
        if self._exact:
            dsc = (
                baggage.sentry_encoded if baggage.sentry_encoded.get("trace_id") == trace_id else {}
            )
            return _Resolved(
                trace_id,
                None,
                sampled,
                dsc,
                baggage.third_party,
                self._baggage or "",  # sentry-sdk's own, as it made it
                formats.join_baggage(dsc),
                tracestate,
            )
        return self._complete(config, trace_id, None, sampled, baggage, tracestate)


_head_cache: tuple[Config, dict[str, str]] | None = None


def _configured_dsc(config: Config) -> dict[str, str]:
    """The DSC items that come from the settings, encoded once per configuration."""
    global _head_cache
    if _head_cache is None or _head_cache[0] is not config:
        items = {
            "public_key": config.public_key,
            "org_id": config.org_id,
            "release": config.release,
            "environment": config.environment,
        }
        encoded = formats.encode_items({key: value for key, value in items.items() if value})
        _head_cache = (config, encoded)
    return _head_cache[1]


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


_active: ContextVar[TraceContext | None] = ContextVar("metatrace_active", default=None)


def own() -> TraceContext:
    """metatrace's active context; if there is none, start a trace and make it active here."""
    context = _active.get()
    if context is None:
        context = TraceContext()
        _active.set(context)
    return context


def get_active() -> TraceContext | None:
    return _active.get()


def activate(context: TraceContext) -> Token[TraceContext | None]:
    return _active.set(context)


def deactivate(token: Token[TraceContext | None]) -> None:
    _active.reset(token)


class Scope:
    """`with trace_scope(...) as context:` activates a context and restores the previous one."""

    __slots__ = ("_token", "context")

    def __init__(self, context: TraceContext) -> None:
        self.context = context
        self._token: Token[TraceContext | None] | None = None

    def __enter__(self) -> TraceContext:
        if self._token is not None:
            raise RuntimeError("metatrace: a trace_scope() can be entered only once")
        self._token = _active.set(self.context)
        return self.context

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._token is not None:
            _active.reset(self._token)
