"""The test site (tests.settings) as a real site runs it, in the variant that the environment
names:

- SETUP_TRACER: "sentry" (sentry-sdk's Django integration), "sentry-middleware-spans" (with
  a span for each middleware), "otel" (OpenTelemetry's Django instrumentation), "ddtrace"
  (dd-trace-py), "ddtrace-unpatched" (named as SOURCE, its Django integration never put on),
  "elastic" (Elastic's APM agent), or none;
- SETUP_CACHE: where Django's cache middleware sits around TraceMiddleware: "documented"
  (UpdateCacheMiddleware first, FetchFromCacheMiddleware last, as Django's docs say), "top"
  (TraceMiddleware first), "both" (CacheMiddleware first), "reverse" (the documented order
  reversed, which system check metatrace.E002 refuses), or none;
- SETUP_KEY: "none" for a server without a Sentry key;
- SETUP_DEBUG: "1" for DEBUG = True;
- SETUP_BROWSER: the @sentry/browser release the pages load (SENTRY_BROWSER_VERSION);
- SETUP_INJECT: "1" for INJECT.
"""

from __future__ import annotations

import os

from tests.settings import *  # noqa: F403
from tests.settings import METATRACE

from .tracers import SENTRY_DSN

DEBUG = os.environ.get("SETUP_DEBUG") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = "tests.setups.urls"

_TRACE = "metatrace.middleware.TraceMiddleware"
_UPDATE = "django.middleware.cache.UpdateCacheMiddleware"
_FETCH = "django.middleware.cache.FetchFromCacheMiddleware"
MIDDLEWARE = {
    "": [_TRACE],
    "documented": [_UPDATE, _TRACE, _FETCH],
    "top": [_TRACE, _UPDATE, _FETCH],
    "both": ["django.middleware.cache.CacheMiddleware", _TRACE],
    "reverse": [_FETCH, _TRACE, _UPDATE],
}[os.environ.get("SETUP_CACHE", "")]
CACHE_MIDDLEWARE_SECONDS = 60

METATRACE = {
    **METATRACE,
    "DSN": None if os.environ.get("SETUP_KEY") == "none" else SENTRY_DSN,
    "SENTRY_BROWSER_VERSION": os.environ.get("SETUP_BROWSER") or None,
    "INJECT": os.environ.get("SETUP_INJECT") == "1",
}

# As Sentry's docs show it: sentry_sdk.init in the settings module.
_TRACER = os.environ.get("SETUP_TRACER", "")
if _TRACER.startswith("ddtrace"):  # dd-trace-py is started in wsgi.py, before Django
    METATRACE["SOURCE"] = "ddtrace"  # (not for "ddtrace-unpatched": named, never started)
if _TRACER == "elastic":  # as Elastic's docs show it: its app, and its settings
    METATRACE["SOURCE"] = "elasticapm"
    INSTALLED_APPS = [*INSTALLED_APPS, "elasticapm.contrib.django"]  # noqa: F405
    ELASTIC_APM = {
        "SERVICE_NAME": "setups",
        "SERVER_URL": "http://127.0.0.1:9",  # nothing is sent: the transport records
        "TRANSPORT_CLASS": "tests.setups.elastic_transport.ElasticRecorder",
        "CENTRAL_CONFIG": False,
        "CLOUD_PROVIDER": "none",
        "METRICS_INTERVAL": "0ms",
        "TRANSACTION_SAMPLE_RATE": float(os.environ.get("SETUP_ELASTIC_RATE", "1.0")),
    }
if _TRACER.startswith("sentry"):
    from sentry_sdk.integrations.django import DjangoIntegration

    from .tracers import start_sentry

    start_sentry(DjangoIntegration(middleware_spans=_TRACER == "sentry-middleware-spans"))
