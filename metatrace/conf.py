"""Django settings: the `METATRACE` dict, validated and applied to the core configuration."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from .config import UNSET, SettingError, configure

# METATRACE key -> configure() argument.
SETTINGS = {
    "DSN": "dsn",
    "PUBLIC_KEY": "public_key",
    "RELEASE": "release",
    "ENVIRONMENT": "environment",
    "TRACES_SAMPLE_RATE": "traces_sample_rate",
    "W3C": "w3c",
    "ORG_ID": "org_id",
    "STRICT_TRACE_CONTINUATION": "strict_trace_continuation",
    "STRIP_CACHEABLE": "strip_cacheable",
    "SOURCE": "source",
    "PROPAGATION_TARGETS": "propagation_targets",
    "SERVER_TIMING": "server_timing",
    "INJECT": "inject",
}


def apply_settings() -> None:
    """Read `settings.METATRACE` and configure the core; fail with the key and the fix."""
    options: Any = getattr(settings, "METATRACE", {})
    if not isinstance(options, dict):
        raise ImproperlyConfigured(
            f"METATRACE must be a dict of settings, not {type(options).__name__}."
        )
    unknown = sorted(set(options) - set(SETTINGS), key=str)
    if unknown:
        raise ImproperlyConfigured(
            f"METATRACE[{unknown[0]!r}] is not a metatrace setting. "
            f"Valid keys: {', '.join(SETTINGS)}."
        )
    arguments: dict[str, Any] = {"dsn": UNSET, "release": UNSET, "environment": UNSET}
    arguments.update({SETTINGS[key]: value for key, value in options.items()})
    try:
        configure(**arguments)
    except SettingError as error:
        key = next(key for key, name in SETTINGS.items() if name == error.name)
        raise ImproperlyConfigured(f"METATRACE[{key!r}] {error.problem}.") from error


def on_setting_changed(*, setting: str, **kwargs: Any) -> None:
    """Keep `override_settings(METATRACE=...)` working in tests."""
    if setting == "METATRACE":
        apply_settings()
