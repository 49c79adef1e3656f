from __future__ import annotations

from django import template
from django.template.base import Parser, Token
from markupsafe import Markup

from ..sources import current

register = template.Library()


class TraceMetaNode(template.Node):
    # A plain Node, not a simple_tag: it has no arguments to resolve or output to escape,
    # and skipping that machinery saves about a microsecond a render.
    def render(self, context: template.Context) -> Markup:
        return current().meta()


@register.tag(name="trace_meta")
def trace_meta_tag(parser: Parser, token: Token) -> TraceMetaNode:
    """`{% trace_meta %}`: the escaped meta tags of the active trace."""
    name, *arguments = token.split_contents()
    if arguments:
        raise template.TemplateSyntaxError(f"'{name}' takes no arguments")
    return TraceMetaNode()
