"""metatrace/templatetags/metatrace.py: {% trace_meta %} and {% elastic_page_load %}.

Both refuse a fragment cache: `{% cache %}` around them would serve one visitor's trace to the
next; Django's tag sees the enclosing block tags. ALLOW_CACHED_TAG turns the error into a
warning. Wagtail's `{% wagtailcache %}` and `{% wagtailpagecache %}` are tested on the real
Wagtail site in tests/realworld/."""

from __future__ import annotations

from typing import Any

import pytest
from django.template import Context, Engine, TemplateSyntaxError, engines

import metatrace
from metatrace._pages.templating import CachedTraceMetaWarning
from tests.conftest import INCOMING_SPAN, INCOMING_TRACE, parse_trace_meta, split_sentry_trace
from tests.pages.refusal import REFUSED


@pytest.mark.parametrize("arguments", ["'x'", "as", "as a b", "to x"])
def test_django_tag_rejects_arguments_other_than_as_name(arguments: str) -> None:
    with pytest.raises(TemplateSyntaxError, match="'trace_meta' takes no arguments"):
        engines["django"].from_string(f"{{% load metatrace %}}{{% trace_meta {arguments} %}}")


def test_django_tag_can_store_the_tags_in_a_variable() -> None:
    metatrace.configure(public_key="abc")
    metatrace.continue_trace({"sentry-trace": f"{INCOMING_TRACE}-{INCOMING_SPAN}-1"})
    template = engines["django"].from_string(
        "{% load metatrace %}{% trace_meta as tags %}<head>{{ tags }}</head>"
    )
    html = template.render({})
    assert parse_trace_meta(html)["sentry-trace"].startswith(f"{INCOMING_TRACE}-")
    assert html == f"<head>{metatrace.trace_meta()}</head>"


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
