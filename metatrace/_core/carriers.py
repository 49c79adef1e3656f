"""Find the raw trace strings in a carrier: HTTP headers, a WSGI environ or os.environ."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .names import ENV_BAGGAGE, ENV_SENTRY_TRACE, ENVIRON_KEYS, PROPAGATED

# Every spelling, lowercased, of each of the four (by its index in PROPAGATED): the HTTP
# header, the WSGI environ key (Django's META), and for the first two Sentry's environment
# variable.
_FIELDS = {
    spelling: index
    for index, name in enumerate(PROPAGATED)
    for spelling in (name, ENVIRON_KEYS[index].lower())
} | {ENV_SENTRY_TRACE.lower(): 0, ENV_BAGGAGE.lower(): 1}
_LENGTHS = frozenset(map(len, _FIELDS))

Raw = tuple[str | None, str | None, str | None, str | None]
NOTHING: Raw = (None, None, None, None)


def read_carrier(carrier: Mapping[str, Any]) -> Raw:
    """(sentry-trace, baggage, traceparent, tracestate) as raw strings; repeated values are
    comma-joined.

    One pass over the keys, in any letter case: cheaper than trying each spelling in turn.
    """
    # `type(...) is dict` first: the ABC check costs more than the whole pass over a dict.
    if type(carrier) is not dict and not isinstance(carrier, Mapping):
        raise TypeError(
            "metatrace: the carrier must be a mapping (HTTP headers, a WSGI environ or "
            f"os.environ), not {type(carrier).__name__}"
            + ("; to start a new trace, pass {} or no argument" if carrier is None else "")
        )
    found: list[str | None] = [None, None, None, None]
    for key, value in carrier.items():
        if type(key) is str and len(key) in _LENGTHS:
            index = _FIELDS.get(key.lower())
            if index is not None and found[index] is None:
                # Plain strings, the common case, pass without a call.
                found[index] = value if type(value) is str else _text(value)
    return found[0], found[1], found[2], found[3]


def read_environ(environ: Mapping[str, Any]) -> Raw:
    """The fast path for a WSGI environ or Django's request.META."""
    found = tuple(map(environ.get, ENVIRON_KEYS))  # one C-level loop
    return NOTHING if found == NOTHING else _texts(*found)  # most page loads: nothing came


def read_header_pairs(headers: Iterable[tuple[bytes, bytes]]) -> Raw:
    """For ASGI: (name, value) byte pairs; repeated headers are comma-joined."""
    found: list[list[bytes]] = [[], [], [], []]
    for name, value in headers:
        index = _FIELDS.get(bytes(name).decode("latin-1").lower())
        if index is not None:
            found[index].append(bytes(value))
    sentry_trace, baggage, traceparent, tracestate = (_text(values) for values in found)
    return sentry_trace, baggage, traceparent, tracestate


def _texts(sentry_trace: object, baggage: object, traceparent: object, tracestate: object) -> Raw:
    # Plain strings and absent values, the common cases, pass without a call.
    return (
        sentry_trace if sentry_trace is None or type(sentry_trace) is str else _text(sentry_trace),
        baggage if baggage is None or type(baggage) is str else _text(baggage),
        traceparent if traceparent is None or type(traceparent) is str else _text(traceparent),
        tracestate if tracestate is None or type(tracestate) is str else _text(tracestate),
    )


def _text(value: object) -> str | None:
    """Header values arrive as str, bytes (ASGI, Celery) or a list of repeated headers."""
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode("latin-1")
    if isinstance(value, (list, tuple)):
        parts = [text for text in map(_text, value) if text is not None]
        return ",".join(parts) if parts else None
    return None
