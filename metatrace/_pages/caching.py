"""Which responses a shared cache may store (RFC 9111): those must not carry one visitor's
trace to the next (see responses.py, and docs/maintainers/design.md)."""

from __future__ import annotations

import re
import time
from datetime import UTC
from email.utils import parsedate_to_datetime

_DIRECTIVE_RE = re.compile(r"\s*([A-Za-z-]+)\s*(?:=\s*\"?(\d*)\"?)?\s*")


def is_shared_cacheable(
    cache_control: str | None, expires: str | None = None, date: str | None = None
) -> bool:
    """Whether a shared cache (a CDN, Django's cache middleware) may store the response:
    `public`, `s-maxage`, or a positive `max-age`, unless `private` or `no-store` says no.
    Without `max-age`, an `Expires` later than the response's `Date` (or now) counts too."""
    directives: dict[str, str] = {}
    for part in (cache_control or "").split(","):
        match = _DIRECTIVE_RE.fullmatch(part)
        if match:
            directives[match.group(1).lower()] = match.group(2) or ""
    if "private" in directives or "no-store" in directives:
        return False
    if "public" in directives or "s-maxage" in directives:
        return True
    if "max-age" in directives:  # it overrides Expires
        max_age = directives["max-age"]
        return max_age.isdigit() and int(max_age) > 0
    return expires is not None and _is_future(expires, date)


def _is_future(expires: str, date: str | None) -> bool:
    """RFC 9111: an invalid `Expires` (such as "0") means already expired; a cache that
    cannot read `Date` uses the time it received the response."""
    expiry = _timestamp(expires)
    sent = _timestamp(date) if date else None
    return expiry is not None and expiry > (time.time() if sent is None else sent)


def _timestamp(http_date: str) -> float | None:
    try:
        moment = parsedate_to_datetime(http_date)
        if moment.tzinfo is None:  # HTTP dates are in GMT
            moment = moment.replace(tzinfo=UTC)
        return moment.timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
