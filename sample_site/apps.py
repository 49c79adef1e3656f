from __future__ import annotations

from django.apps import AppConfig


class SampleSiteConfig(AppConfig):
    name = "sample_site"

    def ready(self) -> None:
        from .tracing import start_tracer

        start_tracer()
