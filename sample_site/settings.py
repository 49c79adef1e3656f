"""Settings of the sample site: `DJANGO_SETTINGS_MODULE=sample_site.settings`."""

from __future__ import annotations

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "sample-site-only-not-a-secret")
DEBUG = os.environ.get("DJANGO_DEBUG", "1") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]

INSTALLED_APPS = [
    # The admin shows a page whose templates we do not own (see METATRACE["INJECT"]). Its
    # login page needs no database: sessions and messages live in signed cookies.
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "metatrace",
    "sample_site",
]

MIDDLEWARE = [
    "metatrace.middleware.TraceMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"

ROOT_URLCONF = "sample_site.urls"
WSGI_APPLICATION = "sample_site.wsgi.application"
ASGI_APPLICATION = "sample_site.asgi.application"

CONTEXT_PROCESSORS = [
    "django.template.context_processors.request",
    "django.contrib.auth.context_processors.auth",
    "django.contrib.messages.context_processors.messages",
    "metatrace.context_processors.trace_meta",
    "sample_site.context_processors.sample",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": CONTEXT_PROCESSORS},
    },
    {
        "BACKEND": "django.template.backends.jinja2.Jinja2",
        # The Django templates folder too: the nav and panel partials are valid in both engines.
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "environment": "sample_site.jinja2env.environment",
            "extensions": ["metatrace.jinja.TraceMetaExtension"],
            "context_processors": CONTEXT_PROCESSORS,
        },
    },
]

DATABASES: dict[str, dict[str, str]] = {}
STATIC_URL = "/static/"
USE_TZ = True

# The demo DSN that the server and the browser share, so that `make run` shows the hand-over:
# the server starts each trace with this key's DSC and the browser continues it. It names no
# real project, and nothing is sent: the browser bundle keeps its envelopes in the page.
# `SENTRY_DSN=... make run` gives the server yours; `SENTRY_DSN= make run` (empty) gives it no
# key, to see what happens then: no Sentry tags, and the browser starts the trace itself.
DEMO_DSN = "https://b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0@o1.ingest.example.invalid/1"

# metatrace: with a key, the server freezes a full DSC when it starts a trace.
METATRACE = {
    "DSN": os.environ.get("SENTRY_DSN", DEMO_DSN) or None,
    "RELEASE": os.environ.get("SENTRY_RELEASE", "sample-site@0.1.0"),
    "TRACES_SAMPLE_RATE": 1.0,
    "W3C": os.environ.get("METATRACE_W3C", "1") == "1",
    # "auto" renders sentry-sdk's or OpenTelemetry's trace when one runs (see tracing.py).
    "SOURCE": os.environ.get("METATRACE_SOURCE", "auto"),
    # Pages that print no tags (the admin login) get them injected: METATRACE_INJECT=1 make run.
    "INJECT": os.environ.get("METATRACE_INJECT", "0") == "1",
    # The @sentry/browser release the pages load (frontend/package.json pins it).
    "SENTRY_BROWSER_VERSION": os.environ.get("SAMPLE_SENTRY_BROWSER_VERSION", "11.12.0"),
}

# The browser SDK bundle (frontend/): it keeps its envelopes in the page and sends nothing.
# SAMPLE_BUNDLE=sample/browser-newest.js serves the newest releases' (make frontend-newest).
SAMPLE_BROWSER = {
    "DSN": DEMO_DSN,
    "TRACES_SAMPLE_RATE": 1.0,
    "OTEL": False,
    "BUNDLE": os.environ.get("SAMPLE_BUNDLE", "sample/browser.js"),
}
# Where /outgoing/ sends its request; None means this site's own /downstream/.
SAMPLE_DOWNSTREAM_URL: str | None = None

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        "metatrace": {"handlers": ["console"], "level": "DEBUG" if DEBUG else "INFO"},
        "sample_site": {"handlers": ["console"], "level": "INFO"},
    },
}
