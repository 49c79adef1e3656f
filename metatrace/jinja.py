"""Jinja integration: the `trace_meta()` global."""

from __future__ import annotations

from collections.abc import Iterator

from ._core.extras import missing

try:
    from jinja2 import Environment
    from jinja2.exceptions import TemplateSyntaxError
    from jinja2.ext import Extension
    from jinja2.lexer import Token, TokenStream
except ModuleNotFoundError as error:
    raise missing(error, "metatrace.jinja", "jinja")  # noqa: B904 (its cause is set)

from ._pages.templating import (
    JINJA_CACHE_TAGS,
    lazy_elastic_page_load,
    lazy_trace_meta,
    refuse_cached,
)


class TraceMetaExtension(Extension):
    """Adds the global `trace_meta`, usable as `{{ trace_meta() }}` or `{{ trace_meta }}`, and
    `elastic_page_load` likewise (see docs/readers.md).

    Its output is `Markup`: not escaped twice under autoescape, and safe without it.

    A template that names `trace_meta` inside a fragment-cache block (`{% cache %}` of
    Flask-Caching or django-jinja) fails to compile. Jinja has no hook on a global's use, so
    this reads the template's tokens: it sees the name written inside the block, not a macro,
    an include or another variable that renders the tags there.
    """

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        environment.globals["trace_meta"] = lazy_trace_meta
        environment.globals["elastic_page_load"] = lazy_elastic_page_load

    def filter_stream(self, stream: TokenStream) -> Iterator[Token]:
        open_caches: list[str] = []
        previous: Token | None = None
        for token in stream:
            if token.type == "name":
                if previous is not None and previous.type in _STATEMENT_BEGIN:
                    if token.value in JINJA_CACHE_TAGS:
                        open_caches.append(token.value)
                    elif open_caches and token.value == f"end{open_caches[-1]}":
                        open_caches.pop()
                elif open_caches and token.value in _PER_REQUEST and _not_attribute(previous):
                    message = refuse_cached(token.value, open_caches[0])
                    if message is not None:
                        raise TemplateSyntaxError(
                            message, token.lineno, stream.name, stream.filename
                        )
            previous = token
            yield token


# The globals that print the request's ids, which a fragment cache would serve to others.
_PER_REQUEST = frozenset({"trace_meta", "elastic_page_load"})
# What comes before a tag's name: `{%`, or the prefix of a line statement (`# cache 60`).
_STATEMENT_BEGIN = frozenset({"block_begin", "linestatement_begin"})


def _not_attribute(previous: Token | None) -> bool:
    return previous is None or previous.type != "dot"  # `page.trace_meta` is someone else's


def install(environment: Environment) -> Environment:
    """Add the extension to an existing environment; returns it for chaining."""
    environment.add_extension(TraceMetaExtension)
    return environment
