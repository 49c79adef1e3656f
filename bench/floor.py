"""The least any tag and middleware cost in Django and Jinja: the floor of the page rows.

A middleware that sets one response header (as ours sets Server-Timing) and a tag or global
that returns a constant (as ours returns the tags). Whatever metatrace adds above this floor is
its own work; the floor itself is what Django and Jinja charge for the mechanism.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import template
from django.http import HttpRequest, HttpResponseBase
from markupsafe import Markup

from .django_bench import CONSTANT_META as _CONSTANT_HTML
from .micro import SENTRY_TRACE

CONSTANT_META = Markup(_CONSTANT_HTML)  # the constant page's tags, as a tag would return them
_SERVER_TIMING = f'sentry-trace;desc="{SENTRY_TRACE}"'

register = template.Library()


class _ConstantNode(template.Node):
    def render(self, context: template.Context) -> str:
        return CONSTANT_META


@register.tag(name="constant_meta")
def constant_meta_tag(parser: template.base.Parser, token: template.base.Token) -> _ConstantNode:
    return _ConstantNode()


def constant_meta() -> Markup:
    """The Jinja global."""
    return CONSTANT_META


def header_middleware(
    get_response: Callable[[HttpRequest], HttpResponseBase],
) -> Callable[[HttpRequest], Any]:
    def middleware(request: HttpRequest) -> HttpResponseBase:
        response = get_response(request)
        response["Server-Timing"] = _SERVER_TIMING
        return response

    return middleware
