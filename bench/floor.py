"""The least any tag and middleware cost in Django and Jinja: the floors of the page rows.

A middleware that sets one response header (as ours sets Server-Timing) and a tag or global
that returns a constant (as ours returns the tags). Whatever metatrace adds above this floor is
its own work; the floor itself is what Django and Jinja charge for the mechanism.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from contextvars import ContextVar
from random import getrandbits
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


# The least that keeps every guarantee of a started trace, inlined by hand for the bench's
# settings: what our middleware and tag must do, with nothing else (no settings looked up,
# no tracer asked, no nesting, no cache keyed by configuration, no DSC kept for headers).
# It reads the trace headers (none come), starts the trace (three draws), renders the tags
# once, and on the way out checks the head for stale tags and sets Server-Timing.
_SETTINGS_MEMBERS = (
    ",sentry-public_key=49d0f7386ad645858ae85020e393bef3,sentry-org_id=447951"
    ",sentry-release=shop%401.4.2,sentry-environment=production"
)
_active: ContextVar[_Started | None] = ContextVar("bench_floor", default=None)
# As metatrace's head scan: a tag naming a trace, or the head's end.
_HEAD_SCAN_RE = re.compile(
    rb'<(?:meta name="(sentry-trace|traceparent)" content="|/[hH][eE][aA][dD]|[bB][oO][dD][yY])'
)
_SHAPING = frozenset({"cache-control", "expires", "content-encoding", "server-timing"})
_TRACE_KEYS = ("HTTP_SENTRY_TRACE", "HTTP_BAGGAGE", "HTTP_TRACEPARENT", "HTTP_TRACESTATE")


class _Started:
    __slots__ = ("rand", "rendered")

    def __init__(self) -> None:
        self.rand = getrandbits(256)
        self.rendered: tuple[bytes, Markup, str] | None = None

    def render(self) -> tuple[bytes, Markup, str]:
        rendered = self.rendered
        if rendered is None:
            text = self.rand.to_bytes(32, "big").hex()
            trace_id, span_id = text[16:48], text[48:]
            sample_rand = "0.%06d" % ((self.rand >> 192) % 1_000_000)  # noqa: UP031
            sentry_trace = f"{trace_id}-{span_id}-1"  # the rate is 1.0
            baggage = (
                f"sentry-trace_id={trace_id}{_SETTINGS_MEMBERS},sentry-sample_rate=1.0,"
                f"sentry-sample_rand={sample_rand},sentry-sampled=true"
            )
            tags = (
                f'<meta name="sentry-trace" content="{sentry_trace}">'
                f'<meta name="baggage" content="{baggage}">'
            )
            timing = f'sentry-trace;desc="{sentry_trace}", baggage;desc="{baggage}"'
            rendered = self.rendered = (trace_id.encode(), str.__new__(Markup, tags), timing)
        return rendered


def guaranteed_middleware(
    get_response: Callable[[HttpRequest], HttpResponseBase],
) -> Callable[[HttpRequest], Any]:
    def middleware(request: HttpRequest) -> HttpResponseBase:
        if tuple(map(request.META.get, _TRACE_KEYS)) != (None, None, None, None):
            raise AssertionError("the floor handles a started trace only")
        started = _Started()
        token = _active.set(started)
        try:
            response = get_response(request)
        finally:
            _active.reset(token)
        store = response.headers._store
        content_type = store.get("content-type")
        if (
            content_type is not None
            and response.status_code == 200
            and content_type[1].startswith("text/html")
            and _SHAPING.isdisjoint(store)
        ):
            body = response.content  # type: ignore[attr-defined]
            trace_id, _, timing = started.render()
            at = 0
            while (match := _HEAD_SCAN_RE.search(body, at, 8192)) is not None:
                if match.group(1) is None:
                    break
                at = match.end()
                if not body.startswith(trace_id, at):
                    raise AssertionError("the floor serves no stale tags")
            store["server-timing"] = ("Server-Timing", timing)
        return response

    return middleware


class _GuaranteedNode(template.Node):
    def render(self, context: template.Context) -> str:
        started = _active.get()
        assert started is not None
        return started.render()[1]


@register.tag(name="guaranteed_meta")
def guaranteed_meta_tag(
    parser: template.base.Parser, token: template.base.Token
) -> _GuaranteedNode:
    return _GuaranteedNode()


def guaranteed_meta() -> Markup:
    """The Jinja global."""
    started = _active.get()
    assert started is not None
    return started.render()[1]
