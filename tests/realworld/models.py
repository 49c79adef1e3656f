"""The site's page types: one as Wagtail serves it, one with the Cache-Control recipe."""

from __future__ import annotations

from typing import Any, ClassVar

from django.db import models
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_cache_control
from wagtail.admin.panels import FieldPanel, Panel
from wagtail.models import Page


class HomePage(Page):
    """Served as Wagtail serves any page: with no Cache-Control header at all."""

    body = models.TextField(blank=True)
    content_panels: ClassVar[list[Panel]] = [*Page.content_panels, FieldPanel("body")]


class ArticlePage(Page):
    """The recipe of docs/third-party.md: a page that renders the tags says who may store it."""

    body = models.TextField(blank=True)
    content_panels: ClassVar[list[Panel]] = [*Page.content_panels, FieldPanel("body")]

    def serve(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response: HttpResponse = super().serve(request, *args, **kwargs)
        patch_cache_control(response, private=True)
        return response
