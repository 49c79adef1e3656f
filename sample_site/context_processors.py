from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.staticfiles import finders
from django.http import HttpRequest
from django.urls import reverse

INCOMING = ("sentry-trace", "traceparent", "baggage")
PAGES = (
    ("index", "Template tag"),
    ("jinja", "Jinja2"),
    ("context", "Context processor"),
    ("outgoing", "Outgoing request"),
    ("celery", "Celery task"),
)


def sample(request: HttpRequest) -> dict[str, Any]:
    """What every sample page shows besides the tags, prepared so that the shared partials
    (`_nav.html`, `_panel.html`) use only syntax common to Django templates and Jinja."""
    browser = settings.SAMPLE_BROWSER
    bundle = str(browser.get("BUNDLE", "sample/browser.js"))
    return {
        "nav": [(reverse(name), label, request.path == reverse(name)) for name, label in PAGES],
        "incoming": [(name, request.headers.get(name) or "(none)") for name in INCOMING],
        "page_url": request.build_absolute_uri(request.path),
        "browser_config": {
            "dsn": browser["DSN"],
            "tracesSampleRate": browser["TRACES_SAMPLE_RATE"],
            "otel": browser["OTEL"],
        },
        "browser_bundle": bundle,
        "bundle_built": finders.find(bundle) is not None,
    }
