"""The trace context (an immutable value) and the holder of the active one (a ContextVar).

Creating a context only stores the raw incoming strings and draws its random bits; parsing
waits until someone reads an id, the tags or the headers. All randomness is drawn up front,
so two threads resolving the same context at once compute the same values.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from contextvars import ContextVar, Token
from random import getrandbits
from types import MappingProxyType, TracebackType
from typing import NamedTuple

from markupsafe import Markup

from . import formats
from .config import Config, get_config

logger = logging.getLogger("metatrace")

_MASK64 = (1 << 64) - 1
_MASK128 = (1 << 128) - 1


class _Resolved(NamedTuple):
    trace_id: str
    parent_span_id: str | None
    sampled: bool | None
    dsc: Mapping[str, str]
    third_party: tuple[str, ...]


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
    )

    def __init__(
        self,
        sentry_trace: str | None = None,
        baggage: str | None = None,
        traceparent: str | None = None,
    ) -> None:
        self._sentry_trace = sentry_trace
        self._baggage = baggage
        self._traceparent = traceparent
        # 64 bits of span id, 128 of trace id (used if we start the trace), 64 for sample_rand.
        self._rand = getrandbits(256)
        self._resolved: _Resolved | None = None
        self._meta: tuple[bool, Markup] | None = None
        self._headers: tuple[bool, dict[str, str]] | None = None

    def __repr__(self) -> str:
        return f"<TraceContext {self.sentry_trace}>"

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
        return self._resolve().dsc

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
        state = self._resolve()
        return formats.format_baggage(state.dsc, state.third_party)

    def headers(self) -> dict[str, str]:
        """Outgoing propagation headers; a fresh dict each call, so callers may add to it."""
        w3c = get_config().w3c
        cached = self._headers
        if cached is None or cached[0] is not w3c:
            headers = {"sentry-trace": self.sentry_trace}
            baggage = self.baggage
            if baggage:
                headers["baggage"] = baggage
            if w3c:
                headers["traceparent"] = self.traceparent
            cached = self._headers = (w3c, headers)
        return dict(cached[1])

    def meta(self) -> Markup:
        """The escaped `<meta>` tags for this context, rendered once and cached."""
        w3c = get_config().w3c
        cached = self._meta
        if cached is None or cached[0] is not w3c:
            cached = self._meta = (w3c, self._render_meta(w3c))
        return cached[1]

    def _render_meta(self, w3c: bool) -> Markup:
        state = self._resolve()
        html = Markup()
        # Values are already validated or percent-encoded; escaping again is the second fence.
        # A trace we started without a public key gets no Sentry tags: @sentry/browser would
        # freeze the empty DSC and lose its own key, so the browser must start the trace.
        if state.parent_span_id is not None or state.dsc:
            html += Markup('<meta name="sentry-trace" content="{}">').format(self.sentry_trace)
        if state.dsc:
            html += Markup('<meta name="baggage" content="{}">').format(
                formats.format_baggage(state.dsc)
            )
        if w3c:
            html += Markup('<meta name="traceparent" content="{}">').format(self.traceparent)
        return html

    def _resolve(self) -> _Resolved:
        state = self._resolved
        if state is None:
            state = self._resolved = self._parse(get_config())
        return state

    def _parse(self, config: Config) -> _Resolved:
        incoming = None
        if self._sentry_trace:
            incoming = formats.parse_sentry_trace(self._sentry_trace)
            if incoming is None:
                logger.debug(
                    "metatrace: ignoring malformed sentry-trace %.100r", self._sentry_trace
                )
        if incoming is None and self._traceparent:
            incoming = formats.parse_traceparent(self._traceparent)
            if incoming is None:
                logger.debug("metatrace: ignoring malformed traceparent %.100r", self._traceparent)
        baggage = formats.parse_baggage(self._baggage) if self._baggage else formats.EMPTY_BAGGAGE
        if incoming is not None and not _same_org(config, baggage.sentry.get("org_id")):
            logger.debug("metatrace: not continuing a trace of another organisation")
            incoming = None

        if incoming is None:
            trace_id = f"{((self._rand >> 64) & _MASK128) or 1:032x}"
            parent_span_id, sampled = None, None
        else:
            trace_id, parent_span_id, sampled = incoming
        dsc: dict[str, str] = baggage.sentry
        if dsc and dsc.get("trace_id") != trace_id:
            # A DSC belongs to its trace; one from another (or no) trace must not be reused.
            logger.debug("metatrace: dropping baggage sentry items of another trace")
            dsc = {}
        if not dsc:
            sampled, dsc = self._head_dsc(config, trace_id, sampled)
        elif "sample_rand" not in dsc:
            # As sentry-python does: otherwise each browser would draw its own sample_rand.
            dsc = {**dsc, "sample_rand": self._sample_rand(_rate(dsc), _sampled(dsc, sampled))}
        return _Resolved(
            trace_id, parent_span_id, sampled, MappingProxyType(dsc), baggage.third_party
        )

    def _head_dsc(
        self, config: Config, trace_id: str, sampled: bool | None
    ) -> tuple[bool | None, dict[str, str]]:
        """Freeze a DSC when we are the first Sentry-aware hop and know our own public key."""
        if config.public_key is None:
            return sampled, {}
        rate = config.traces_sample_rate
        rand = self._sample_rand(rate, sampled)
        if sampled is None and rate is not None:
            sampled = float(rand) < rate
        dsc = {"trace_id": trace_id, "public_key": config.public_key}
        if config.org_id:
            dsc["org_id"] = config.org_id
        if config.release:
            dsc["release"] = config.release
        if config.environment:
            dsc["environment"] = config.environment
        if rate is not None:
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


def _same_org(config: Config, theirs: str | None) -> bool:
    """Sentry's rule: never join another org's trace; in strict mode, both ids or neither."""
    ours = config.org_id
    if ours and theirs:
        return ours == theirs
    return not (config.strict_trace_continuation and (ours or theirs))


def _rate(dsc: Mapping[str, str]) -> float | None:
    try:
        rate = float(dsc.get("sample_rate", ""))
    except ValueError:
        return None
    return rate if 0.0 <= rate <= 1.0 else None


def _sampled(dsc: Mapping[str, str], sampled: bool | None) -> bool | None:
    if sampled is not None:
        return sampled
    return {"true": True, "false": False}.get(dsc.get("sampled", ""))


_active: ContextVar[TraceContext | None] = ContextVar("metatrace_active", default=None)


def current() -> TraceContext:
    """The active context; if there is none, start a trace and make it active here."""
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

    def __enter__(self) -> TraceContext:
        self._token = _active.set(self.context)
        return self.context

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        _active.reset(self._token)
