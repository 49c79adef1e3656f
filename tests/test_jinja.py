"""metatrace/jinja.py: the extension refuses the tags inside a fragment cache.

It reads the template's tokens (Flask-Caching's `{% cache %}` here); ALLOW_CACHED_TAG turns the
error into a warning."""

from __future__ import annotations

from typing import Any

import jinja2
import pytest
from flask import Flask, render_template_string
from flask_caching import Cache

import metatrace
from metatrace._pages.templating import CachedTraceMetaWarning
from metatrace.jinja import TraceMetaExtension
from tests.conftest import INCOMING_SPAN, parse_trace_meta, split_sentry_trace
from tests.pages.refusal import REFUSED


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
