"""requests integration (extra `metatrace-html[requests]`): an adapter that adds the headers.

`instrument(session)` is the one line. An adapter, rather than `auth=`, leaves authentication
free, and its `add_headers` runs for every request the session sends, redirects included.
"""

from __future__ import annotations

from typing import Any

from ._core.extras import missing

try:
    from requests import PreparedRequest, Session
    from requests.adapters import DEFAULT_RETRIES, HTTPAdapter
except ModuleNotFoundError as error:
    raise missing(error, "metatrace.requests", "requests")  # noqa: B904 (its cause is set)

from .outgoing import inject


class TraceAdapter(HTTPAdapter):
    """An `HTTPAdapter` that adds the active trace's propagation headers to each request,
    for URLs matching PROPAGATION_TARGETS, merging any `baggage` already on it."""

    def add_headers(self, request: PreparedRequest, **kwargs: Any) -> None:
        super().add_headers(request, **kwargs)
        if request.url is not None:
            inject(request.headers, request.url)


def instrument(session: Session) -> Session:
    """Mount `TraceAdapter` for http:// and https:// on `session`; returns it for chaining.

    The retry policy of the adapters it replaces is kept. If you mount adapters of your own,
    subclass `TraceAdapter` instead.
    """
    for prefix in ("http://", "https://"):
        old = session.adapters.get(prefix)
        if isinstance(old, TraceAdapter):
            continue
        retries = old.max_retries if isinstance(old, HTTPAdapter) else DEFAULT_RETRIES
        session.mount(prefix, TraceAdapter(max_retries=retries))
    return session
