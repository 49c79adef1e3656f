"""System checks for the usual misconfigurations (`manage.py check`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.utils.module_loading import import_string

from ._core.config import get_config
from ._django.cache import Around
from .middleware import TraceMiddleware

# Middleware that renders pages outside the view, so it must sit inside TraceMiddleware.
RENDERING_MIDDLEWARE = frozenset(
    {
        "django.contrib.flatpages.middleware.FlatpageFallbackMiddleware",
        "debug_toolbar.middleware.DebugToolbarMiddleware",
    }
)
# Middleware that must sit inside TraceMiddleware: what goes wrong otherwise, and the check id.
MUST_COME_AFTER = (
    (
        RENDERING_MIDDLEWARE,
        "so the pages it renders do not continue the request's trace.",
        "metatrace.W001",
    ),
)


@register(Tags.compatibility)
def check_middleware(app_configs: Sequence[Any] | None = None, **kwargs: Any) -> list[CheckMessage]:
    middleware = list(getattr(settings, "MIDDLEWARE", None) or [])
    position = next((i for i, path in enumerate(middleware) if _is_trace_middleware(path)), None)
    if position is None:
        return [
            Error(
                "metatrace.middleware.TraceMiddleware is not in MIDDLEWARE.",
                hint=(
                    "Add 'metatrace.middleware.TraceMiddleware' near the top of MIDDLEWARE. "
                    "Without it, pages render a trace that is not the request's, and a "
                    "thread reuses it for every request it serves."
                ),
                id="metatrace.E001",
            )
        ]
    messages: list[CheckMessage] = []
    for path in middleware[:position]:
        for group, consequence, check_id in MUST_COME_AFTER:
            if path in group:
                messages.append(
                    Warning(
                        f"{path} comes before metatrace.middleware.TraceMiddleware, {consequence}",
                        hint="Move TraceMiddleware above it in MIDDLEWARE.",
                        id=check_id,
                    )
                )
    leak = Around(middleware, TraceMiddleware).leak()
    if leak is not None:  # TraceMiddleware refuses it at start-up too
        messages.append(Error(leak[0], hint=leak[1], id="metatrace.E002"))
    if "django.middleware.gzip.GZipMiddleware" in middleware[position + 1 :]:
        messages.append(
            Warning(
                "django.middleware.gzip.GZipMiddleware comes after "
                "metatrace.middleware.TraceMiddleware, so cacheable pages reach it compressed "
                "and keep their trace tags for shared caches.",
                hint="Move GZipMiddleware above TraceMiddleware in MIDDLEWARE.",
                id="metatrace.W004",
            )
        )
    return messages


def _is_trace_middleware(path: str) -> bool:
    if path == "metatrace.middleware.TraceMiddleware":
        return True
    try:
        candidate = import_string(path)
    except Exception:  # a broken entry is Django's to report, not ours
        return False
    return isinstance(candidate, type) and issubclass(candidate, TraceMiddleware)


@register(Tags.compatibility)
def check_source(app_configs: Sequence[Any] | None = None, **kwargs: Any) -> list[CheckMessage]:
    if get_config().source != "sentry_sdk":
        return []
    import sentry_sdk

    client = sentry_sdk.get_client()
    if client.is_active() and client.get_integration("django") is not None:
        return []
    return [
        Warning(
            "SOURCE is 'sentry_sdk', but sentry-sdk's Django integration is not on: sentry-sdk "
            "then keeps one trace for the whole process, and every page would render it.",
            hint="Call sentry_sdk.init() with its Django integration (it is on by default), "
            "or use SOURCE 'auto'.",
            id="metatrace.W003",
        )
    ]
