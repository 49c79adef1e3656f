"""What templates receive: `trace_meta` that renders when printed or called, not before;
and the refusal to render it inside a fragment cache."""

from __future__ import annotations

import json
import warnings

from markupsafe import Markup

from .._core import config as configuration
from .._core.context import NO_TAGS
from .._core.names import ELASTIC_SCRIPT_ID
from .._core.withheld import tags_withheld
from .._sources import current, elastic_page_load_values

# Block tags that store what they render and serve it to later requests: Django's, Wagtail's,
# and the `{% cache %}` of Jinja's fragment-cache extensions (Flask-Caching, django-jinja).
DJANGO_CACHE_TAGS = frozenset({"cache", "wagtailcache", "wagtailpagecache"})
JINJA_CACHE_TAGS = frozenset({"cache"})


class CachedTraceMetaWarning(UserWarning):
    """The tags inside a fragment cache, let through by `ALLOW_CACHED_TAG`."""


class LazyTraceMeta:
    """Works as `{{ trace_meta }}` and `{{ trace_meta() }}` in Django and Jinja templates.

    It renders for the context active at render time, so one instance serves every request.
    """

    __slots__ = ()

    def __call__(self) -> Markup:
        return current().meta()

    def __html__(self) -> str:
        return current().meta()

    def __str__(self) -> str:
        return current().meta()

    def __repr__(self) -> str:
        return "<LazyTraceMeta>"


lazy_trace_meta = LazyTraceMeta()

# As Django's json_script escapes: nothing in it can end the script or start a tag.
_JSON_ESCAPES = {ord("<"): "\\u003C", ord(">"): "\\u003E", ord("&"): "\\u0026"}


def elastic_page_load() -> Markup:
    """`<script type="application/json" id="elastic-apm-page-load">` with the values that
    Elastic's RUM agent takes in its init config (`pageLoadTraceId`, `pageLoadSpanId`,
    `pageLoadSampled`); nothing unless SOURCE is "elasticapm" and a transaction runs, or while
    a page that a shared cache may store streams."""
    values = None if tags_withheld() else elastic_page_load_values()
    if values is None:
        return NO_TAGS
    text = json.dumps(values, separators=(",", ":")).translate(_JSON_ESCAPES)
    return Markup(f'<script type="application/json" id="{ELASTIC_SCRIPT_ID}">{text}</script>')


class LazyElasticPageLoad:
    """Works as `{{ elastic_page_load }}` and `{{ elastic_page_load() }}` in Jinja, as
    `trace_meta` does."""

    __slots__ = ()

    def __call__(self) -> Markup:
        return elastic_page_load()

    def __html__(self) -> str:
        return elastic_page_load()

    def __str__(self) -> str:
        return elastic_page_load()

    def __repr__(self) -> str:
        return "<LazyElasticPageLoad>"


lazy_elastic_page_load = LazyElasticPageLoad()


def refuse_cached(tag: str, cache_tag: str) -> str | None:
    """The error message for `tag` compiled inside `{% cache_tag %}`; None (after a warning)
    when the site has set ALLOW_CACHED_TAG."""
    message = (
        f"{tag} is inside {{% {cache_tag} %}}: the cached fragment would show its first "
        "visitor's trace to every later visitor (and, under a shared key, on other pages). "
        f"Render {tag} outside the cached block, or set METATRACE['ALLOW_CACHED_TAG'] = True "
        "(configure(allow_cached_tag=True) without Django) to make this a warning."
    )
    if not configuration.get_config().allow_cached_tag:
        return message
    warnings.warn(message, CachedTraceMetaWarning, stacklevel=3)
    return None
