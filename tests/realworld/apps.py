from __future__ import annotations

from django.apps import AppConfig


class RealWorldConfig(AppConfig):
    name = "tests.realworld"
    label = "realworld"
    default_auto_field = "django.db.models.AutoField"
