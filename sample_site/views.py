"""The sample pages: one per way a template can reach the trace meta tags."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.generic import TemplateView

import metatrace

from .context_processors import INCOMING


def index(request: HttpRequest) -> HttpResponse:
    """A function view and a Django template using `{% trace_meta %}`."""
    return render(request, "sample/index.html", {"title": "Django template tag"})


def jinja_page(request: HttpRequest) -> HttpResponse:
    """A Jinja2 template (Django's Jinja2 backend) using `{{ trace_meta() }}`."""
    return render(request, "sample/jinja_page.html", {"title": "Jinja2 global"}, using="jinja2")


class ContextView(TemplateView):
    """A class-based view; the template uses `{{ trace_meta }}` from the context processor."""

    template_name = "sample/context.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return super().get_context_data(title="Context processor", **kwargs)


def plain(request: HttpRequest) -> HttpResponse:
    """A page as yours would be, with the tags and no script of the sample's: for a browser
    SDK set up as docs/browser.md shows."""
    return render(request, "sample/plain.html", {"title": "Your own SDK", "tags": True})


def plain_without_tags(request: HttpRequest) -> HttpResponse:
    """The same page whose template prints no tags: the trace is in Server-Timing only."""
    return render(request, "sample/plain.html", {"title": "Server-Timing only", "tags": False})


def outgoing(request: HttpRequest) -> HttpResponse:
    """Calls another service with `metatrace.propagation_headers()` and shows what it got."""
    url = settings.SAMPLE_DOWNSTREAM_URL or request.build_absolute_uri(reverse("downstream"))
    sent = metatrace.propagation_headers()
    context: dict[str, Any] = {"title": "Outgoing request", "url": url, "sent": sent}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=sent), timeout=5) as reply:
            context["downstream"] = json.load(reply)
    except OSError as error:
        context["error"] = str(error)
    return render(request, "sample/outgoing.html", context)


def downstream(request: HttpRequest) -> JsonResponse:
    """The "next service": what it received, and the trace it continued from that."""
    trace = metatrace.current_trace()
    return JsonResponse(
        {
            "received": {name: request.headers.get(name) for name in INCOMING},
            "trace_id": trace.trace_id,
            "parent_span_id": trace.parent_span_id,
            "continued": trace.continued,
        }
    )
