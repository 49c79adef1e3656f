"""Every code block of the README and of every docs/*.md page runs here, so the manual cannot
drift from the code. A new page in docs/ is picked up without being named."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
from django.template import engines
from django.test import RequestFactory
from django.utils.module_loading import import_string

import metatrace
from metatrace._core.config import get_config
from metatrace.checker.cli import parser
from tests.conftest import INCOMING_TRACE, parse_trace_meta
from tests.tracers import SENTRY_MAJOR

ROOT = Path(__file__).parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("**/*.md"))]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
# The README is read on the package index too, so its links are absolute, under the repository.
REPOSITORY = PROJECT["urls"]["Repository"]
# As an upstream Sentry SDK sends them: the trace, and its dynamic sampling context.
HEADERS = {
    "sentry-trace": f"{INCOMING_TRACE}-b7ad6b7169203331-1",
    "baggage": f"sentry-trace_id={INCOMING_TRACE},sentry-public_key={'0f' * 16}",
}
# ```text blocks are shown, not run.
# ```js and ```html blocks (docs/browser.md) run in Chromium: tests/browser/test_docs_browser.py.
LANGUAGES = {"sh", "python", "html+django", "html+jinja", "text", "js", "html"}
FENCE = re.compile(r"^```(\S*)\n(.*?)^```$", flags=re.M | re.S)
LINK = re.compile(r"\]\(([^)\s]+)\)")


def _name(page: Path) -> str:
    return str(page.relative_to(ROOT))


def _blocks_of(page: Path) -> list[tuple[str, str]]:
    return FENCE.findall(page.read_text(encoding="utf-8"))


def _blocks(*languages: str) -> list[Any]:
    found = [
        pytest.param(code, id=f"{_name(page)}-{language}-{index}")
        for page in PAGES
        for index, (language, code) in enumerate(_blocks_of(page))
        if language in languages
    ]
    assert found, f"no {languages} blocks in the README or docs"
    return found


def first_python_block() -> str:
    """The README's first Python example: what a newcomer runs first."""
    return next(code for language, code in _blocks_of(PAGES[0]) if language == "python")


@pytest.mark.parametrize("page", PAGES, ids=_name)
def test_every_block_names_a_language_that_is_checked(page: Path) -> None:
    blocks = _blocks_of(page)
    fences = [line for line in page.read_text(encoding="utf-8").splitlines() if line[:3] == "```"]
    assert len(fences) == 2 * len(blocks), "a fence that does not open or close a block"
    assert {language for language, _ in blocks} <= LANGUAGES


def test_the_readme_shows_each_kind_of_block() -> None:
    assert {language for language, _ in _blocks_of(PAGES[0])} == LANGUAGES - {"html"}


# A wsgi.py runs in a fresh interpreter, as a server imports it (a tracer provider can be set
# once per process), on the test site; then a request goes through its `application`.
_THROUGH_THE_APPLICATION = """
from io import BytesIO
from wsgiref.util import setup_testing_defaults

from bs4 import BeautifulSoup
from opentelemetry import trace
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

exporter = InMemorySpanExporter()
trace.get_tracer_provider().add_span_processor(SimpleSpanProcessor(exporter))
environ = {"PATH_INFO": "/t/tag/", "wsgi.input": BytesIO()}
setup_testing_defaults(environ)
started = []
body = b"".join(application(environ, lambda status, headers: started.append(status)))
[server] = [span for span in exporter.get_finished_spans() if span.kind.name == "SERVER"]
meta = BeautifulSoup(body, "html.parser").find("meta", attrs={"name": "traceparent"})
print(started[0], meta["content"].split("-")[2] == f"{server.get_span_context().span_id:016x}")
"""


def _run_wsgi_module(code: str) -> None:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "PYTHONPATH": str(ROOT)}
    env["METATRACE_W3C"] = "1"
    result = subprocess.run(
        [sys.executable, "-c", code + _THROUGH_THE_APPLICATION],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout.strip() == "200 OK True", result.stderr


@pytest.mark.parametrize("code", _blocks("python"))
def test_python_snippet(code: str, settings: Any) -> None:
    line = re.match(r"# sentry-sdk (\d+)\.x\n", code)
    if line is not None and int(line.group(1)) != SENTRY_MAJOR:
        pytest.skip(f"for sentry-sdk {line.group(1)}.x: a session of the matrix runs it")
    if "get_wsgi_application()" in code:
        _run_wsgi_module(code)
        return
    # The default configuration, as a reader's fresh interpreter has it: no key.
    namespace: dict[str, Any] = {}
    try:
        exec(compile(code, "snippet", "exec"), namespace)
    finally:
        if "sentry_sdk" in sys.modules:  # a snippet's client must not outlive it
            sys.modules["sentry_sdk"].Scope.get_global_scope().set_client(None)
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


def test_the_first_example_renders_tags_in_a_fresh_interpreter() -> None:
    env = {name: value for name, value in os.environ.items() if not name.startswith("SENTRY_")}
    result = subprocess.run(
        [sys.executable, "-c", first_python_block()],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    tags = parse_trace_meta(result.stdout)
    assert tags["sentry-trace"].startswith(INCOMING_TRACE) and "baggage" in tags


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


FRONTEND = json.loads((ROOT / "frontend" / "package.json").read_text())
FRONTEND_PACKAGES = set(FRONTEND["dependencies"])
MAKE_TARGETS = set(re.findall(r"^([a-z][\w-]*):", (ROOT / "Makefile").read_text(), flags=re.M))


@pytest.mark.parametrize("code", _blocks("sh"))
def test_shell_snippet(code: str) -> None:
    """Shell lines name what exists: make targets, and this distribution with its extras."""
    for line in code.splitlines():
        words = shlex.split(line, comments=True)
        while words and re.fullmatch(r"[A-Z_]+=.*", words[0]):  # VARIABLE=value make run
            words.pop(0)
        if words[:1] == ["make"]:
            targets = [word for word in words[1:] if "=" not in word]
            assert set(targets) <= MAKE_TARGETS, line
        elif words[:2] == ["pip", "install"] and not words[2].startswith("-"):
            for requirement in words[2:]:
                name, _, extras = requirement.partition("[")
                assert name.removeprefix("./") == PROJECT["name"], line  # a clone of it too
                for extra in extras.rstrip("]").split(","):
                    assert extra in PROJECT["optional-dependencies"], line
        elif words[:3] == ["python", "-m", "metatrace"]:
            # The checker's command lines parse as written (their options exist, their values
            # have the right shape); what each option does is tested in tests/checker/.
            command = words[3 : words.index(">")] if ">" in words else words[3:]
            arguments = parser().parse_args(command)
            assert arguments.command == "check" and (arguments.urls or arguments.urls_from)
        elif words[:2] == ["npm", "install"]:
            # The browser packages the docs name are the ones their tests build with.
            assert set(words[2:]) <= FRONTEND_PACKAGES, line


@pytest.mark.parametrize("page", PAGES, ids=_name)
def test_links_lead_to_files_that_exist(page: Path) -> None:
    for target in LINK.findall(page.read_text(encoding="utf-8")):
        target = target.split("#")[0]
        raw = REPOSITORY.replace("github.com", "raw.githubusercontent.com") + "/main/"
        blob = REPOSITORY + "/blob/main/"
        if target.startswith((raw, blob)):
            path = ROOT / target.removeprefix(raw).removeprefix(blob)
        elif target.startswith(("http://", "https://")):
            continue
        else:
            # The package index shows the README without the repository around it.
            assert page != PAGES[0], f"README.md: {target} must be absolute, under {blob}"
            path = (page.parent / target).resolve()
        assert path.exists(), f"{_name(page)} links to {target}, which does not exist"
