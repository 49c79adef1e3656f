"""Django settings: the `METATRACE` dict, validated and applied to the core configuration."""

from __future__ import annotations

import logging
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from ._core.config import UNSET, SettingError, configure
from ._sources import describe, warn_untested

# METATRACE key -> configure() argument.
SETTINGS = {
    "DSN": "dsn",
    "PUBLIC_KEY": "public_key",
    "RELEASE": "release",
    "ENVIRONMENT": "environment",
    "TRACES_SAMPLE_RATE": "traces_sample_rate",
    "W3C": "w3c",
    "TRACESTATE": "tracestate",
    "TRACE_METRIC": "trace_metric",
    "ORG_ID": "org_id",
    "STRICT_TRACE_CONTINUATION": "strict_trace_continuation",
    "STRIP_CACHEABLE": "strip_cacheable",
    "SOURCE": "source",
    "PROPAGATION_TARGETS": "propagation_targets",
    "SERVER_TIMING": "server_timing",
    "INJECT": "inject",
    "ALLOW_CACHED_TAG": "allow_cached_tag",
    "SENTRY_BROWSER_VERSION": "sentry_browser_version",
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


_app_found = False
_source_logged = False


def require_app(component: str) -> None:
    """Fail at start-up if "metatrace" is not in INSTALLED_APPS: its METATRACE settings and
    system checks are applied by the app (`MetatraceConfig.ready`), and would be ignored."""
    global _app_found
    if _app_found:  # the context processor calls this for every request
        return
    if not apps.is_installed("metatrace"):
        raise ImproperlyConfigured(
            f"{component} needs 'metatrace' in INSTALLED_APPS: without it, the METATRACE "
            'settings and metatrace\'s system checks are ignored. Add "metatrace" to '
            "INSTALLED_APPS."
        )
    _app_found = True


def log_source() -> None:
    """Say once per serving process which source is in use: called when the middleware is
    loaded, so `manage.py` commands and runserver's reloader process stay quiet."""
    global _source_logged
    if not _source_logged:
        _source_logged = True
        logging.getLogger("metatrace").info("metatrace: %s", describe())
        warn_untested()
