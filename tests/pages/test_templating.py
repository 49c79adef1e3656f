"""metatrace/_pages/templating.py: one contract for every way a template gets the tags.

Django tag, Django context processor, Jinja global (plain Jinja and Django's Jinja2 backend),
printed or called."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jinja2
import pytest
from django.template import engines
from django.test import RequestFactory
from markupsafe import Markup, escape

import metatrace
from metatrace._pages.templating import LazyTraceMeta, lazy_elastic_page_load, lazy_trace_meta
from metatrace.jinja import TraceMetaExtension, install
from tests.conftest import (
    INCOMING_SPAN,
    INCOMING_TRACE,
    SENTRY_TRACE,
    decode_baggage,
    parse_trace_meta,
)

Render = Callable[[], str]


def _django(source: str) -> Render:
    template = engines["django"].from_string(source)
    request = RequestFactory().get("/")
    return lambda: template.render({}, request)


def _django_jinja(source: str) -> Render:
    template = engines["jinja2"].from_string(source)
    request = RequestFactory().get("/")
    return lambda: template.render({}, request)


def _jinja(source: str, autoescape: bool = True) -> Render:
    env = jinja2.Environment(extensions=[TraceMetaExtension], autoescape=autoescape)
    return env.from_string(source).render


def _jinja_installed(source: str) -> Render:
    return install(jinja2.Environment(autoescape=True)).from_string(source).render


RENDERERS: dict[str, Callable[[], Render]] = {
    "django-tag": lambda: _django("{% load metatrace %}<head>{% trace_meta %}</head>"),
    "django-context-processor": lambda: _django("<head>{{ trace_meta }}</head>"),
    "django-jinja-call": lambda: _django_jinja("<head>{{ trace_meta() }}</head>"),
    "django-jinja-print": lambda: _django_jinja("<head>{{ trace_meta }}</head>"),
    "jinja-call": lambda: _jinja("<head>{{ trace_meta() }}</head>"),
    "jinja-print": lambda: _jinja("<head>{{ trace_meta }}</head>"),
    "jinja-no-autoescape": lambda: _jinja("<head>{{ trace_meta() }}</head>", autoescape=False),
    "jinja-install": lambda: _jinja_installed("<head>{{ trace_meta() }}</head>"),
}


@pytest.fixture(params=list(RENDERERS))
def render(request: pytest.FixtureRequest) -> Render:
    return RENDERERS[request.param]()


HOSTILE_RELEASE = "1.0 \"quoted\" <b>bold</b> & 'single' — 日本 🙂"


def test_renders_the_active_trace(render: Render) -> None:
    metatrace.configure(w3c=True)
    baggage = f"sentry-trace_id={INCOMING_TRACE},sentry-release=web%401"
    context = metatrace.continue_trace(
        {"sentry-trace": f"{INCOMING_TRACE}-{INCOMING_SPAN}-0", "baggage": baggage}
    )
    tags = parse_trace_meta(render())
    assert tags == {
        "sentry-trace": f"{INCOMING_TRACE}-{context.span_id}-0",
        "baggage": f"{baggage},sentry-sample_rand={context.dsc['sample_rand']}",
        "traceparent": f"00-{INCOMING_TRACE}-{context.span_id}-00",
    }


def test_renders_at_render_time_not_at_template_creation(render: Render) -> None:
    metatrace.configure(public_key="abc")
    first = metatrace.continue_trace({})
    assert parse_trace_meta(render())["sentry-trace"].startswith(first.trace_id)
    second = metatrace.continue_trace({})
    assert parse_trace_meta(render())["sentry-trace"].startswith(second.trace_id)


def test_escapes_and_round_trips_a_hostile_release(render: Render) -> None:
    metatrace.configure(public_key="abc", release=HOSTILE_RELEASE, traces_sample_rate=1.0)
    metatrace.continue_trace({})
    html = render()
    tags = parse_trace_meta(html)
    assert decode_baggage(tags["baggage"])["release"] == HOSTILE_RELEASE
    assert "<b>" not in html and '"quoted"' not in html


def test_starts_a_trace_when_none_is_active(render: Render) -> None:
    metatrace.configure(public_key="abc")
    tags = parse_trace_meta(render())
    active = metatrace.get_active()
    assert active is not None and tags["sentry-trace"] == active.sentry_trace


@pytest.mark.parametrize(
    "raw, char", [("%22", '"'), ("<", "<"), (">", ">"), ("&", "&"), ("'", "'"), ("%3C", "<")]
)
def test_attribute_is_html_escaped_even_where_baggage_allows_the_character(
    raw: str, char: str
) -> None:
    # W3C baggage allows < > & ' raw (a quote only percent-encoded); formatting percent-encodes
    # them and markupsafe escapes whatever could remain.
    metatrace.continue_trace(
        {
            "sentry-trace": f"{INCOMING_TRACE}-{INCOMING_SPAN}",
            "baggage": f"sentry-trace_id={INCOMING_TRACE},sentry-transaction=a{raw}b",
        }
    )
    html = metatrace.trace_meta()
    assert isinstance(html, Markup)
    baggage = parse_trace_meta(html)["baggage"]
    assert decode_baggage(baggage)["transaction"] == f"a{char}b"
    assert html.count("<") == 2 and html.count(">") == 2
    # Escaped as markupsafe escapes it, a raw ' included (valid HTML between double quotes,
    # but the escaping must not depend on which quotes the tag uses).
    assert f'<meta name="baggage" content="{escape(baggage)}">' in html


@pytest.mark.parametrize("autoescape", [True, False], ids=["autoescape", "no-autoescape"])
def test_jinja_renders_trace_meta_without_the_call(autoescape: bool) -> None:
    import jinja2

    from metatrace.jinja import TraceMetaExtension

    metatrace.configure(public_key="abc")
    environment = jinja2.Environment(extensions=[TraceMetaExtension], autoescape=autoescape)
    template = environment.from_string("<head>{{ trace_meta }}</head>")
    with metatrace.trace_scope({"sentry-trace": SENTRY_TRACE}) as context:
        html = template.render()
    tags = parse_trace_meta(html)
    assert tags["sentry-trace"] == context.sentry_trace
    assert html == f"<head>{context.meta()}</head>"


def test_the_repr_of_trace_meta_renders_nothing() -> None:
    # A debugger or a log line showing the template context must not start a trace.
    from metatrace._pages.templating import lazy_trace_meta

    assert "sentry-trace" not in repr(lazy_trace_meta)
    assert metatrace.get_active() is None


def test_the_jinja_global_says_what_it_is() -> None:
    assert repr(lazy_elastic_page_load) == "<LazyElasticPageLoad>"
    assert str(lazy_elastic_page_load) == ""  # SOURCE is not "elasticapm" here


# LazyTraceMeta and LazyElasticPageLoad are twins (a shared class would cost trace_meta a
# lookup per page): the same protocol, each for its function.
@pytest.mark.parametrize(
    "lazy, function",
    [
        (lazy_trace_meta, metatrace.trace_meta),
        (lazy_elastic_page_load, metatrace.elastic_page_load),
    ],
    ids=["trace_meta", "elastic_page_load"],
)
def test_the_lazy_renderers_keep_one_protocol(lazy: Any, function: Any) -> None:
    assert {name for name in vars(type(lazy)) if name.startswith("__") and name != "__doc__"} == {
        name for name in vars(LazyTraceMeta) if name.startswith("__") and name != "__doc__"
    }
    assert type(lazy).__slots__ == ()
    with metatrace.trace_scope({"sentry-trace": f"{INCOMING_TRACE}-{INCOMING_SPAN}-1"}):
        rendered = function()
        assert isinstance(lazy(), Markup) and lazy() == rendered
        assert str(lazy) == lazy.__html__() == str(rendered)
