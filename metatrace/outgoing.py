"""Propagation headers for outgoing calls, merged into headers that are already there.

`inject()` is the one implementation: `metatrace.requests`, `metatrace.httpx` and
`metatrace.celery` only hand it their header mapping. It imports no client library.
"""

from __future__ import annotations

import re
from collections.abc import MutableMapping, Sequence
from functools import lru_cache

from ._core import formats
from ._core.config import get_config
from ._core.names import BAGGAGE, PROPAGATED, SENTRY_TRACE, TRACEPARENT, TRACESTATE
from ._sources import current

__all__ = ["PROPAGATED", "inject", "merge_baggage", "should_propagate"]


def should_propagate(url: str, targets: Sequence[str] | None) -> bool:
    """Whether `url` gets the headers: `None` means every URL; otherwise a pattern must match.

    Patterns are regular expressions searched anywhere in the URL, as in Sentry's
    `trace_propagation_targets`; a plain host name such as `"api.example.com"` matches too.
    """
    if targets is None:
        return True
    return any(_compiled(pattern).search(url) for pattern in targets)


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def merge_baggage(ours: str, existing: str | None) -> str:
    """The outgoing `baggage`: the active trace's (`ours`) merged with a header already there.

    Sentry items come from `ours`: a DSC belongs to its trace. Third-party members of both are
    kept, and the existing ones win for their keys, since the caller set them for this call.
    No key appears twice and the result stays within the W3C/OpenTelemetry limits, so sending
    again (retries, chains) never grows it.
    """
    if not existing:
        return ours
    mine = formats.parse_baggage(ours)
    theirs = formats.parse_baggage(existing)
    members = {_key(member): member for member in mine.third_party}
    members.update((_key(member), member) for member in theirs.third_party)
    return formats.join_baggage(mine.sentry_encoded, members.values())


def _key(member: str) -> str:
    return member.partition("=")[0]


def inject(headers: MutableMapping[str, str], url: str | None = None) -> MutableMapping[str, str]:
    """Add the active trace's propagation headers to `headers`, in place, and return it.

    With a `url`, only if it matches PROPAGATION_TARGETS. An existing `baggage` (in any
    letter case) is merged, not duplicated; `sentry-trace` and `traceparent` are replaced.
    """
    if url is not None and not should_propagate(url, get_config().propagation_targets):
        return _withdraw(headers)
    existing = _pop(headers, BAGGAGE)
    ours = current().headers()
    for name, value in ours.items():
        if name != BAGGAGE:
            _pop(headers, name)
            headers[name] = value
    baggage = merge_baggage(ours.get(BAGGAGE, ""), existing)
    if baggage:
        headers[BAGGAGE] = baggage
    return headers


def _withdraw(headers: MutableMapping[str, str]) -> MutableMapping[str, str]:
    """Take back what `inject` would have added: clients copy a request's headers onto its
    redirects, and a redirect to a host outside the targets must not receive the trace."""
    trace = current()
    ours = trace.headers()
    for name in (SENTRY_TRACE, TRACEPARENT, TRACESTATE):
        value = _pop(headers, name)
        if value is not None and value != ours.get(name):
            headers[name] = value  # the caller's own, not ours
    existing = _pop(headers, BAGGAGE)
    if existing:
        received = {_key(member) for member in trace.third_party_baggage}
        kept = [
            member
            for member in formats.parse_baggage(existing).third_party
            if _key(member) not in received
        ]
        if kept:
            headers[BAGGAGE] = ",".join(kept)
    return headers


def _pop(headers: MutableMapping[str, str], name: str) -> str | None:
    """Remove every spelling of `name` (plain dicts are case-sensitive); join their values."""
    keys = [key for key in headers if key.lower() == name]
    values = [headers.pop(key) for key in keys]
    return ",".join(value for value in values if value) or None
