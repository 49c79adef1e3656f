"""Deprecated: `metatrace.config` moved inside the package (metatrace._core.config), which is not
public. Use metatrace.SettingError, metatrace.Config, metatrace.configure. This module goes in
the release after 0.2.0."""

import warnings

from ._core.config import (  # noqa: F401
    BROWSER_FILLS_DSC,
    SOURCES,
    UNSET,
    Config,
    Dsn,
    SettingError,
    configure,
    get_config,
    parse_dsn,
    parse_version,
)

_USE = "metatrace.SettingError, metatrace.Config, metatrace.configure"
warnings.warn(
    f"metatrace.config is deprecated: use {_USE} (see the CHANGELOG, 0.2.0)",
    DeprecationWarning,
    stacklevel=2,
)
