"""The Django setup under an ASGI server (uvicorn): the middleware runs in its async mode."""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.setups.django_settings")

from typing import Any

if os.environ.get("SETUP_TRACER") == "otel":  # as in wsgi.py
    from opentelemetry.instrumentation.django import DjangoInstrumentor

    from .tracers import start_otel

    start_otel()
    DjangoInstrumentor().instrument()

from django.core.asgi import get_asgi_application

django_application = get_asgi_application()


async def application(scope: Any, receive: Any, send: Any) -> None:
    # A plain ASGI 3 function: uvicorn takes the handler that sentry-sdk 2.0 patches for an
    # app factory, and calls it with no arguments.
    await django_application(scope, receive, send)
