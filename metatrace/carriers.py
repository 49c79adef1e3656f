"""Find the raw trace strings in a carrier: HTTP headers, a WSGI environ or os.environ."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Spellings tried first, by exact key: HTTP header, WSGI/Django META, environment variable.
_SENTRY_TRACE = ("sentry-trace", "HTTP_SENTRY_TRACE", "SENTRY_TRACE", "Sentry-Trace")
_BAGGAGE = ("baggage", "HTTP_BAGGAGE", "SENTRY_BAGGAGE", "Baggage")
_TRACEPARENT = ("traceparent", "HTTP_TRACEPARENT", "Traceparent")
# Any other spelling of a header name, matched case-insensitively by a scan.
_FOLDED = {"sentry-trace": 0, "baggage": 1, "traceparent": 2}
_FOLDED_LENGTHS = frozenset(len(name) for name in _FOLDED)

Raw = tuple[str | None, str | None, str | None]


def read_carrier(carrier: Mapping[str, Any]) -> Raw:
    """(sentry-trace, baggage, traceparent) as raw strings; repeated values are comma-joined."""
    # `type(...) is dict` first: the ABC check costs more than the whole lookup of a dict.
    if type(carrier) is not dict and not isinstance(carrier, Mapping):
        raise TypeError(
            "metatrace: the carrier must be a mapping (HTTP headers, a WSGI environ or "
            f"os.environ), not {type(carrier).__name__}"
        )
    found = (
        _lookup(carrier, _SENTRY_TRACE),
        _lookup(carrier, _BAGGAGE),
        _lookup(carrier, _TRACEPARENT),
    )
    if None in found:
        found = _scan(carrier, found)
    return found


def read_environ(environ: Mapping[str, Any]) -> Raw:
    """The fast path for a WSGI environ or Django's request.META."""
    return (
        _text(environ.get("HTTP_SENTRY_TRACE")),
        _text(environ.get("HTTP_BAGGAGE")),
        _text(environ.get("HTTP_TRACEPARENT")),
    )


def _lookup(carrier: Mapping[str, Any], names: tuple[str, ...]) -> str | None:
    for name in names:
        value = carrier.get(name)
        if value is not None:
            return _text(value)
    return None


def _scan(carrier: Mapping[str, Any], found: Raw) -> Raw:
    """Fill in what the exact spellings missed, by a case-insensitive look at every key."""
    filled = list(found)
    for key in carrier:
        if isinstance(key, str) and len(key) in _FOLDED_LENGTHS:
            index = _FOLDED.get(key.lower())
            if index is not None and filled[index] is None:
                filled[index] = _text(carrier[key])
    return filled[0], filled[1], filled[2]


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
