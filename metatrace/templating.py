"""Deprecated: `metatrace.templating` moved inside the package (metatrace._pages.templating), which
is not public. Use metatrace.CachedTraceMetaWarning, metatrace.elastic_page_load. This module
goes in the release after 0.2.0."""

import warnings

from ._pages.templating import (  # noqa: F401
    CachedTraceMetaWarning,
    LazyTraceMeta,
    elastic_page_load,
    lazy_trace_meta,
)

_USE = "metatrace.CachedTraceMetaWarning, metatrace.elastic_page_load"
warnings.warn(
    f"metatrace.templating is deprecated: use {_USE} (see the CHANGELOG, 0.2.0)",
    DeprecationWarning,
    stacklevel=2,
)
