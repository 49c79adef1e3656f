"""Shared caches must not store one visitor's trace for the next (DESIGN.md decision 6)."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterable
from datetime import UTC
from email.utils import parsedate_to_datetime

_HTML = ("text/html", "application/xhtml+xml")
_DIRECTIVE_RE = re.compile(r"\s*([A-Za-z-]+)\s*(?:=\s*\"?(\d*)\"?)?\s*")
# Exactly what TraceContext renders: attribute values are escaped, so they hold no quote.
_TRACE_META_RE = re.compile(
    rb'<meta name="(?:sentry-trace|baggage|traceparent)" content="[^"<>]*">'
)


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


def needs_stripping(headers: Iterable[tuple[str, str]]) -> bool:
    """Whether a response's trace tags must go: an HTML page that a shared cache may store.

    Other content (files, media, streams) is never held back or rewritten. A compressed page
    cannot be rewritten: it passes with a warning, since the compression runs in the wrong place.
    """
    cache_control: list[str] = []
    content_type = encoding = ""
    expires = date = None
    for name, value in headers:
        lowered = name.lower()
        if lowered == "cache-control":
            cache_control.append(value)  # repeated headers are one comma-joined list
        elif lowered == "content-type":
            content_type = value.lower()
        elif lowered == "content-encoding":
            encoding = value.strip().lower()
        elif lowered == "expires":
            expires = value
        elif lowered == "date":
            date = value
    if not content_type.startswith(_HTML) or not is_shared_cacheable(
        ",".join(cache_control), expires, date
    ):
        return False
    if encoding not in ("", "identity"):
        logging.getLogger("metatrace").warning(
            "metatrace: a cacheable page is already compressed (%s), so its trace tags stay: "
            "compress outside the trace middleware (GZipMiddleware above TraceMiddleware)",
            encoding,
        )
        return False
    return True


def strip_trace_meta(html: bytes) -> bytes:
    """Remove the trace meta tags that metatrace rendered into a page."""
    return _TRACE_META_RE.sub(b"", html)
