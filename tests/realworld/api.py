"""A DRF API: the browsable API renders `rest_framework/api.html` for browsers."""

from __future__ import annotations

from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from wagtail.models import Page


class PagesView(APIView):
    def get(self, request: Request) -> Response:
        pages = Page.objects.live().filter(depth__gt=1).order_by("path")
        return Response([{"id": page.id, "title": page.title} for page in pages])
