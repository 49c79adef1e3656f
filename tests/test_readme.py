"""Every snippet in the README runs here, so the manual cannot drift from the code."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import pytest
from django.template import engines
from django.test import RequestFactory
from django.utils.module_loading import import_string

import metatrace
from metatrace.config import get_config
from tests.conftest import INCOMING_TRACE, parse_trace_meta

README = (Path(__file__).parents[1] / "README.md").read_text()
BLOCKS = re.findall(r"^```(\S+)\n(.*?)^```", README, flags=re.M | re.S)
HEADERS = {"sentry-trace": f"{INCOMING_TRACE}-b7ad6b7169203331-1"}


def _blocks(*languages: str) -> list[Any]:
    found = [
        pytest.param(code, id=f"{language}-{index}")
        for index, (language, code) in enumerate(BLOCKS)
        if language in languages
    ]
    assert found, f"no {languages} blocks in the README"
    return found


def test_every_block_is_covered() -> None:
    assert {language for language, _ in BLOCKS} == {"sh", "python", "html+django", "html+jinja"}


@pytest.mark.parametrize("code", _blocks("python"))
def test_python_snippet(code: str, settings: Any) -> None:
    metatrace.configure(public_key="abc")  # so that the tags render even with no trace coming in
    namespace: dict[str, Any] = {}
    try:
        exec(compile(code, "README.md", "exec"), namespace)
    finally:
        if "sentry_sdk" in sys.modules:  # a snippet's client must not outlive it
            sys.modules["sentry_sdk"].get_global_scope().set_client(None)
    # Whatever a snippet names must be real: dotted paths import, settings apply, tags parse.
    for app in namespace.get("INSTALLED_APPS", []):
        if app is not Ellipsis:
            assert app == "metatrace"
    for path in namespace.get("MIDDLEWARE", []):
        if path is not Ellipsis:
            import_string(path)
    for backend in namespace.get("TEMPLATES", []):
        import_string(backend["BACKEND"])
        options = backend["OPTIONS"]
        for path in [*options.get("context_processors", []), *options.get("extensions", [])]:
            import_string(path)
    if "METATRACE" in namespace:
        settings.METATRACE = namespace["METATRACE"]
        assert get_config().public_key == "49d0f7386ad645858ae85020e393bef3"
    if "html" in namespace:
        assert "sentry-trace" in parse_trace_meta(namespace["html"])
    if "request" in namespace:
        assert namespace["request"].get_header("Sentry-trace") == metatrace.get_traceparent()
    if "trace" in namespace:
        assert isinstance(namespace["trace"], metatrace.TraceContext)


@pytest.mark.parametrize("code", _blocks("html+django"))
def test_django_template_snippet(code: str) -> None:
    _render_in_request("django", code)


@pytest.mark.parametrize("code", _blocks("html+jinja"))
def test_jinja_template_snippet(code: str) -> None:
    _render_in_request("jinja2", code)


def _render_in_request(engine: str, code: str) -> None:
    template = engines[engine].from_string(code)
    with metatrace.trace_scope(HEADERS):
        html = template.render({}, RequestFactory().get("/"))
    assert parse_trace_meta(html)["sentry-trace"].startswith(INCOMING_TRACE)
