"""The tags refuse a fragment cache: `{% cache %}` around them would serve one visitor's
trace to the next. Django's tag sees the enclosing block tags; the Jinja extension reads the
template's tokens. ALLOW_CACHED_TAG turns the error into a warning.

Wagtail's `{% wagtailcache %}` and `{% wagtailpagecache %}` are tested on the real Wagtail
site in tests/realworld/.
"""

from __future__ import annotations

from typing import Any

import jinja2
import pytest
from django.template import Context, Engine, TemplateSyntaxError
from flask import Flask, render_template_string
from flask_caching import Cache

import metatrace
from metatrace.jinja import TraceMetaExtension
from metatrace.templating import CachedTraceMetaWarning
from tests.conftest import INCOMING_SPAN, INCOMING_TRACE, parse_trace_meta, split_sentry_trace

ENGINE = Engine(
    libraries={
        "cache": "django.templatetags.cache",
        "metatrace": "metatrace.templatetags.metatrace",
    }
)
LOAD = "{% load cache metatrace %}"
HEADERS = {
    "sentry-trace": f"{INCOMING_TRACE}-{INCOMING_SPAN}-1",
    "baggage": f"sentry-trace_id={INCOMING_TRACE},sentry-public_key=abc",
}
REFUSED = (
    "{tag} is inside {{% cache %}}: the cached fragment would show its first visitor's trace "
    "to every later visitor (and, under a shared key, on other pages). Render {tag} outside "
    "the cached block, or set METATRACE['ALLOW_CACHED_TAG'] = True "
    "(configure(allow_cached_tag=True) without Django) to make this a warning."
)


# Django


@pytest.mark.parametrize(
    "body",
    [
        "{% cache 60 head %}{% trace_meta %}{% endcache %}",
        "{% cache 60 head %}<head>{% if 1 %}{% trace_meta %}{% endif %}</head>{% endcache %}",
        "{% cache 60 head %}{% trace_meta as tags %}{% endcache %}{{ tags }}",
        "{% with 1 as x %}{% cache 60 head x %}{% for i in '1' %}{% trace_meta %}{% endfor %}"
        "{% endcache %}{% endwith %}",
    ],
)
def test_the_django_tag_refuses_a_cache_block(body: str) -> None:
    with pytest.raises(TemplateSyntaxError) as raised:
        ENGINE.from_string(LOAD + body)
    assert str(raised.value) == REFUSED.format(tag="{% trace_meta %}")


@pytest.mark.parametrize("tag", ["{% elastic_page_load %}", "{% trace_meta %}"])
def test_the_elastic_tag_is_refused_too(tag: str) -> None:
    with pytest.raises(TemplateSyntaxError) as raised:
        ENGINE.from_string(LOAD + "{% cache 60 head %}" + tag + "{% endcache %}")
    assert str(raised.value) == REFUSED.format(tag=tag)


def test_the_elastic_tag_takes_no_arguments() -> None:
    with pytest.raises(TemplateSyntaxError, match=r"^'elastic_page_load' takes no arguments$"):
        ENGINE.from_string(LOAD + "{% elastic_page_load 1 %}")


def test_the_django_tag_after_a_cache_block_renders() -> None:
    template = ENGINE.from_string(
        LOAD + "{% cache 60 nav %}<nav></nav>{% endcache %}{% trace_meta %}"
    )
    with metatrace.trace_scope(HEADERS):
        html = template.render(Context())
    assert split_sentry_trace(parse_trace_meta(html)["sentry-trace"])[0] == INCOMING_TRACE


def test_allow_cached_tag_turns_the_error_into_a_warning(settings: Any) -> None:
    settings.METATRACE = {"ALLOW_CACHED_TAG": True}
    with pytest.warns(CachedTraceMetaWarning) as warned:
        template = ENGINE.from_string(LOAD + "{% cache 60 t %}{% trace_meta %}{% endcache %}")
    assert str(warned[0].message) == REFUSED.format(tag="{% trace_meta %}")
    with metatrace.trace_scope(HEADERS):
        assert "sentry-trace" in parse_trace_meta(template.render(Context()))


# Jinja (Flask-Caching's `{% cache %}` extension)


def _jinja(**options: Any) -> jinja2.Environment:
    return jinja2.Environment(
        extensions=[TraceMetaExtension, "flask_caching.jinja2ext.CacheExtension"], **options
    )


@pytest.mark.parametrize(
    "source",
    [
        "{% cache 60 %}{{ trace_meta() }}{% endcache %}",
        "{% cache 60, 'head' %}{{ trace_meta }}{% endcache %}",
        "{% cache 60 %}{% if 1 %}\n{{ trace_meta() }}{% endif %}{% endcache %}",
        "{% cache 60 %}{% cache 5 %}{% endcache %}{{ trace_meta() }}{% endcache %}",
        "{%- cache 60 -%}{% set tags = trace_meta() %}{{ tags }}{%- endcache %}",
    ],
)
def test_the_jinja_global_refuses_a_cache_block(source: str) -> None:
    with pytest.raises(jinja2.TemplateSyntaxError) as raised:
        _jinja().from_string(source)
    assert raised.value.message == REFUSED.format(tag="trace_meta")
    assert raised.value.lineno == source[: source.index("trace_meta")].count("\n") + 1


def test_the_jinja_elastic_global_refuses_a_cache_block() -> None:
    with pytest.raises(jinja2.TemplateSyntaxError) as raised:
        _jinja().from_string("{% cache 60 %}{{ elastic_page_load() }}{% endcache %}")
    assert raised.value.message == REFUSED.format(tag="elastic_page_load")


def test_line_statements_are_read_too() -> None:
    environment = _jinja(line_statement_prefix="#")
    inside = "# cache 60\n<head>{{ trace_meta() }}</head>\n# endcache\n"
    with pytest.raises(jinja2.TemplateSyntaxError) as raised:
        environment.from_string(inside)
    assert (raised.value.message, raised.value.lineno) == (REFUSED.format(tag="trace_meta"), 2)
    after = "# cache 60\n<nav></nav>\n# endcache\n<head>{{ trace_meta() }}</head>\n"
    assert environment.from_string(after) is not None


@pytest.mark.parametrize(
    "source",
    [
        "{% cache 60 %}<nav></nav>{% endcache %}{{ trace_meta() }}",
        "{{ trace_meta() }}{% cache 60 %}{{ page.trace_meta }}{% endcache %}",
        "{% cache 60 %}{% raw %}{{ trace_meta() }}{% endraw %}{% endcache %}{{ trace_meta() }}",
        "{# {% cache 60 %} #}{{ trace_meta() }}",
    ],
)
def test_the_jinja_global_outside_a_cache_block_compiles(source: str) -> None:
    template = _jinja().from_string(source)
    assert template is not None


def test_jinja_allow_cached_tag_warns_and_the_fragment_is_then_stale() -> None:
    # What the error prevents, shown with Flask-Caching's real extension and cache.
    metatrace.configure(allow_cached_tag=True, public_key="abc")
    app = Flask(__name__)
    Cache(app, config={"CACHE_TYPE": "SimpleCache"})
    app.jinja_env.add_extension(TraceMetaExtension)
    source = "{% cache 60, 'head' %}{{ trace_meta() }}{% endcache %}"
    rendered = []
    with app.test_request_context("/"):
        for incoming in ("1" * 32, "2" * 32):
            trace = {"sentry-trace": f"{incoming}-{INCOMING_SPAN}-1"}
            with metatrace.trace_scope(trace), pytest.warns(CachedTraceMetaWarning):
                html = render_template_string(source)
            rendered.append(split_sentry_trace(parse_trace_meta(html)["sentry-trace"])[0])
    assert rendered == ["1" * 32, "1" * 32]  # the second visitor got the first one's trace
