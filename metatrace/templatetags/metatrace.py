from __future__ import annotations

from django import template
from markupsafe import Markup

from ..sources import current

register = template.Library()


@register.simple_tag(name="trace_meta")
def trace_meta_tag() -> Markup:
    """`{% trace_meta %}`: the escaped meta tags of the active trace."""
    return current().meta()
