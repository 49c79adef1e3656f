from __future__ import annotations

from django import template
from django.template.base import Parser, Token
from markupsafe import Markup

from .._pages.templating import DJANGO_CACHE_TAGS, elastic_page_load, refuse_cached
from .._sources import current

register = template.Library()


class TraceMetaNode(template.Node):
    # A plain Node, not a simple_tag: with no arguments to resolve and Markup to return,
    # skipping that machinery saves about a microsecond a render.
    def __init__(self, target: str | None) -> None:
        self.target = target

    def render(self, context: template.Context) -> Markup | str:
        if self.target is None:
            return current().meta()
        context[self.target] = current().meta()
        return ""


@register.tag(name="trace_meta")
def trace_meta_tag(parser: Parser, token: Token) -> TraceMetaNode:
    """`{% trace_meta %}`: the escaped meta tags of the active trace; `{% trace_meta as name %}`
    stores them in the context instead, as simple tags do. It refuses to compile inside a
    fragment cache, which would serve one visitor's trace to the next."""
    name, *arguments = token.split_contents()
    _refuse_inside_cache(parser, name)
    if not arguments:
        return TraceMetaNode(None)
    if len(arguments) == 2 and arguments[0] == "as":
        return TraceMetaNode(arguments[1])
    raise template.TemplateSyntaxError(f"'{name}' takes no arguments, or 'as name'")


def _refuse_inside_cache(parser: Parser, name: str) -> None:
    # The block tags being compiled around this one, outermost first.
    cache_tag = next((tag for tag, _ in parser.command_stack if tag in DJANGO_CACHE_TAGS), None)
    if cache_tag is not None:
        message = refuse_cached(f"{{% {name} %}}", cache_tag)
        if message is not None:
            raise template.TemplateSyntaxError(message)


class ElasticPageLoadNode(template.Node):
    def render(self, context: template.Context) -> Markup:
        return elastic_page_load()


@register.tag(name="elastic_page_load")
def elastic_page_load_tag(parser: Parser, token: Token) -> ElasticPageLoadNode:
    """`{% elastic_page_load %}`: the JSON script with Elastic's RUM page-load values (the
    request's ids: refused inside a fragment cache, as `{% trace_meta %}` is)."""
    name, *arguments = token.split_contents()
    _refuse_inside_cache(parser, name)
    if arguments:
        raise template.TemplateSyntaxError(f"'{name}' takes no arguments")
    return ElasticPageLoadNode()
