"""The Django setup under a WSGI server (gunicorn), its tracer started first."""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.setups.django_settings")

if os.environ.get("SETUP_TRACER") == "otel":
    # As OpenTelemetry's docs show it: instrument before the application loads.
    from opentelemetry.instrumentation.django import DjangoInstrumentor

    from .tracers import start_otel

    start_otel()
    DjangoInstrumentor().instrument()

if os.environ.get("SETUP_TRACER") == "ddtrace":
    from .tracers import start_ddtrace

    start_ddtrace()

from django.core.wsgi import get_wsgi_application

application = get_wsgi_application()
