"""Django's cache middleware on either side of TraceMiddleware.

Django's documented order puts `UpdateCacheMiddleware` first and `FetchFromCacheMiddleware`
last, so a `TraceMiddleware` between them sees each response before the cache middleware adds
`Cache-Control: max-age` and `Expires` to it. The headers that decide whether a shared cache
may store the page come after it. So the middleware rehearses what the
cache middleware outside it will do: the same class, on a copy of the response's status,
headers and cookies, with a cache that stores nothing. Whatever Django version runs, its own
rules decide.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.middleware.cache import FetchFromCacheMiddleware, UpdateCacheMiddleware
from django.utils.module_loading import import_string


class Around:
    """Django's cache middleware around the first TraceMiddleware (an instance of `trace`)
    in MIDDLEWARE: outside it (listed before it) or inside it (after it)."""

    def __init__(self, middleware: Sequence[str], trace: type) -> None:
        pairs = [(path, _class(path)) for path in middleware]
        at = next(
            (i for i, (_, cls) in enumerate(pairs) if cls is not None and issubclass(cls, trace)),
            None,
        )
        outside, inside = ([], []) if at is None else (pairs[:at], pairs[at + 1 :])
        # CacheMiddleware is both: it fetches and updates.
        self.updating_outside = [(path, cls) for path, cls in outside if _updates(cls)]
        self.fetching_outside = [path for path, cls in outside if _fetches(cls)]
        self.updating_inside = [path for path, cls in inside if _updates(cls)]

    def leak(self) -> tuple[str, str] | None:
        """What goes wrong with the cache middleware in the one order that serves a visitor's
        trace to the next (fetching outside, updating inside: Django's documented order
        reversed), and the fix; None for any other order."""
        if not (self.fetching_outside and self.updating_inside):
            return None
        return (
            f"{self.fetching_outside[0]} comes before metatrace.middleware.TraceMiddleware "
            f"and {self.updating_inside[0]} after it: the cache stores each page with the "
            "trace of the visitor who filled it, and serves it to the next visitors without "
            "passing TraceMiddleware.",
            "Use Django's documented order: UpdateCacheMiddleware first, TraceMiddleware "
            "after it, FetchFromCacheMiddleware last.",
        )

    def rehearsal(self) -> type[UpdateCacheMiddleware] | None:
        """The cache-updating middleware nearest outside, made to store nothing; None when
        there is none."""
        if not self.updating_outside:
            return None
        cls = self.updating_outside[-1][1]
        assert cls is not None
        return type(f"Rehearsed{cls.__name__}", (cls,), {"cache": _Discard()})


def headers_after(
    rehearsed: type[UpdateCacheMiddleware], request: HttpRequest, response: HttpResponseBase
) -> dict[str, str] | None:
    """The `Cache-Control` and `Expires` the response will leave with, once the cache
    middleware outside has seen it; None when it will leave them as they are (a page that
    is not stored: a cache hit, a POST, `private`, a cookie that varies it...)."""
    if not getattr(request, "_cache_update_cache", False) or response.streaming:
        return None
    stand_in = HttpResponse(status=response.status_code)
    for name, value in response.items():
        stand_in[name] = value
    stand_in.cookies = response.cookies
    before = stand_in.get("Cache-Control"), stand_in.get("Expires")
    rehearsed(_never_called).process_response(request, stand_in)
    after = stand_in.get("Cache-Control"), stand_in.get("Expires")
    if after == before:
        return None
    return {
        name: value
        for name, value in (("cache-control", after[0]), ("expires", after[1]))
        if value is not None
    }


def _never_called(request: HttpRequest) -> HttpResponseBase:  # pragma: no cover (never called)
    raise AssertionError("a rehearsal never calls the next middleware")


class _Discard:
    """A cache that keeps nothing: the rehearsal must not store the stand-in response (the
    cache-updating middleware only ever sets)."""

    def set(self, key: str, value: Any, timeout: Any = None, version: Any = None) -> None:
        pass


def _class(path: str) -> type | None:
    try:
        found = import_string(path)
    except Exception:  # a broken entry is Django's to report
        return None
    return found if isinstance(found, type) else None


def _updates(cls: type | None) -> bool:
    return cls is not None and issubclass(cls, UpdateCacheMiddleware)


def _fetches(cls: type | None) -> bool:
    return cls is not None and issubclass(cls, FetchFromCacheMiddleware)
