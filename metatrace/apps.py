from __future__ import annotations

from django.apps import AppConfig
from django.core.signals import setting_changed


class MetatraceConfig(AppConfig):
    name = "metatrace"
    verbose_name = "metatrace"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the system checks)
        from .conf import apply_settings, on_setting_changed

        apply_settings()
        setting_changed.connect(on_setting_changed, dispatch_uid="metatrace.settings")
