from __future__ import annotations

from django.contrib import admin
from django.urls import path

from . import celery_views, views

urlpatterns = [
    path("", views.index, name="index"),
    path("jinja/", views.jinja_page, name="jinja"),
    path("context/", views.ContextView.as_view(), name="context"),
    path("outgoing/", views.outgoing, name="outgoing"),
    path("downstream/", views.downstream, name="downstream"),
    path("celery/", celery_views.celery_page, name="celery"),
    # For your own browser SDK, as docs/browser.md sets it up: no script of the sample's.
    path("plain/", views.plain, name="plain"),
    path("plain/without-tags/", views.plain_without_tags, name="plain-without-tags"),
    # Pages whose templates print no tags: METATRACE["INJECT"] gives them the trace.
    path("admin/", admin.site.urls),
]
