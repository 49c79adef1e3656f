from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.urls import include, path
from wagtail import urls as wagtail_urls
from wagtail.admin import urls as wagtailadmin_urls

from .api import PagesView


def failing_view(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("a view that fails, for the 500 page")


urlpatterns = [
    path("django-admin/", admin.site.urls),
    path("admin/", include(wagtailadmin_urls)),
    path("api/pages/", PagesView.as_view()),
    path("failing/", failing_view),
    path("", include(wagtail_urls)),
]
