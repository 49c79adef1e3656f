"""Deprecated: `metatrace.responses` moved inside the package (metatrace._pages.responses), which
is not public. Use metatrace.HEAD_LIMIT. This module goes in the release after 0.2.0."""

import warnings

from ._pages.responses import HEAD_LIMIT  # noqa: F401

_USE = "metatrace.HEAD_LIMIT"
warnings.warn(
    f"metatrace.responses is deprecated: use {_USE} (see the CHANGELOG, 0.2.0)",
    DeprecationWarning,
    stacklevel=2,
)
