"""Jinja integration: the `trace_meta()` global."""

from __future__ import annotations

from jinja2 import Environment
from jinja2.ext import Extension

from .templating import lazy_trace_meta


class TraceMetaExtension(Extension):
    """Adds the global `trace_meta`, usable as `{{ trace_meta() }}` or `{{ trace_meta }}`.

    Its output is `Markup`: not escaped twice under autoescape, and safe without it.
    """

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        environment.globals["trace_meta"] = lazy_trace_meta


def install(environment: Environment) -> Environment:
    """Add the extension to an existing environment; returns it for chaining."""
    environment.add_extension(TraceMetaExtension)
    return environment
