"""httpx integration (extra `metatrace-html[httpx]`): request event hooks that add the headers.

    httpx.Client(event_hooks={"request": [metatrace.httpx.request_hook]})
    httpx.AsyncClient(event_hooks={"request": [metatrace.httpx.async_request_hook]})

httpx calls request hooks for every request it sends, redirects included, and lets them change
the headers. The hooks only touch `request.headers` and `request.url`, so httpx is not imported.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .outgoing import inject

if TYPE_CHECKING:
    import httpx


def request_hook(request: httpx.Request) -> None:
    """For `httpx.Client`: add the active trace's headers if the URL is a propagation target."""
    inject(request.headers, str(request.url))


async def async_request_hook(request: httpx.Request) -> None:
    """For `httpx.AsyncClient`, whose hooks must be coroutines. It runs in the caller's task,
    so it sees the caller's active trace."""
    inject(request.headers, str(request.url))
