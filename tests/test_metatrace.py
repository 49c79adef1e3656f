"""metatrace/__init__.py: the public API, and environ() for a child process.

A real child process continues the trace from SENTRY_TRACE and SENTRY_BAGGAGE."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

import metatrace
from metatrace import environ
from tests.conftest import (
    INCOMING_SPAN,
    INCOMING_TRACE,
    SENTRY_TRACE,
    decode_baggage,
    parse_trace_meta,
    run_python,
    split_sentry_trace,
)
from tests.core.incoming import BAGGAGE


def test_no_carrier_starts_a_new_trace() -> None:
    first, second = metatrace.continue_trace(), metatrace.continue_trace()
    assert not first.continued and first.trace_id != second.trace_id
    assert metatrace.get_active() is second


def test_get_functions_start_one_trace_and_keep_it() -> None:
    assert metatrace.get_active() is None
    first = metatrace.get_traceparent()
    assert metatrace.get_active() is not None
    assert metatrace.get_traceparent() == first
    assert metatrace.propagation_headers() == {"sentry-trace": first}
    assert metatrace.get_baggage() == ""


def test_propagation_headers() -> None:
    metatrace.configure(w3c=True)
    context = metatrace.continue_trace({"sentry-trace": SENTRY_TRACE, "baggage": BAGGAGE})
    headers = metatrace.propagation_headers()
    assert headers == {
        "sentry-trace": f"{INCOMING_TRACE}-{context.span_id}-1",
        "baggage": BAGGAGE.replace(
            ",vendor", f",sentry-sample_rand={context.dsc['sample_rand']},vendor"
        ),
        "traceparent": f"00-{INCOMING_TRACE}-{context.span_id}-01",
    }
    headers["x-extra"] = "1"  # callers may add to their copy
    assert "x-extra" not in metatrace.propagation_headers()


def test_trace_meta_is_markup_in_sdk_order_with_no_separator() -> None:
    metatrace.configure(w3c=True)
    context = metatrace.continue_trace({"sentry-trace": SENTRY_TRACE, "baggage": BAGGAGE})
    html = metatrace.trace_meta()
    assert hasattr(html, "__html__")
    assert html.startswith('<meta name="sentry-trace"')
    assert '"><meta name="baggage"' in html and "\n" not in html
    # Parsed: the tags follow each other with nothing (no text node) in between.
    nodes = BeautifulSoup(html, "html.parser").contents
    assert [getattr(node, "name", None) for node in nodes] == ["meta", "meta", "meta"]
    tags = parse_trace_meta(html)
    assert list(tags) == ["sentry-trace", "baggage", "traceparent"]
    assert tags["traceparent"] == f"00-{INCOMING_TRACE}-{context.span_id}-01"
    assert decode_baggage(tags["baggage"]) == context.dsc


def test_dir_lists_the_public_api_only() -> None:
    # Not the names the package imports to build it (Any, Final, Mapping...).
    assert dir(metatrace) == sorted(metatrace.__all__)
    assert "Mapping" not in dir(metatrace) and metatrace.trace_meta in vars(metatrace).values()


def test_core_imports_neither_django_nor_jinja() -> None:

    code = (
        "import sys, metatrace, metatrace._core.formats, metatrace._pages.templating;"
        "metatrace.trace_meta();"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('django', 'jinja2')))"
    )
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


# environ(), for a child process ----------------------------------------------------

ROOT = Path(__file__).resolve().parents[1]
# The child has no key: its browser fills in a DSC of its own when none reaches it, so its
# tags show whether one did.
CHILD = """
import os
import metatrace

metatrace.configure(sentry_browser_version="11.17.0")
trace = metatrace.continue_trace(os.environ)
print(metatrace.trace_meta())
print(trace.parent_span_id)
"""
INCOMING = {
    "sentry-trace": f"{INCOMING_TRACE}-{INCOMING_SPAN}-0",
    "baggage": f"sentry-trace_id={INCOMING_TRACE},sentry-public_key=abc,sentry-release=r%201",
}


def _run_child(extra: dict[str, str]) -> tuple[dict[str, str], str]:
    """Runs CHILD with this process's environment (less any SENTRY_ variable) plus `extra`;
    returns the tags it printed and the parent span id it continued from."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("SENTRY_")}
    env["PYTHONPATH"] = str(ROOT)
    completed = subprocess.run(
        [sys.executable, "-c", CHILD],
        env={**env, **extra},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    html, parent = completed.stdout.strip().splitlines()
    return parse_trace_meta(html), parent


def test_environ_names_the_active_trace() -> None:
    with metatrace.trace_scope(INCOMING) as trace:
        assert environ() == {"SENTRY_TRACE": trace.sentry_trace, "SENTRY_BAGGAGE": trace.baggage}


def test_child_process_continues_the_trace() -> None:
    with metatrace.trace_scope(INCOMING) as trace:
        tags, parent = _run_child(environ())
    trace_id, span_id, flag = split_sentry_trace(tags["sentry-trace"])
    assert (trace_id, flag) == (INCOMING_TRACE, "0")
    assert parent == trace.span_id != span_id
    assert decode_baggage(tags["baggage"]) == {
        "trace_id": INCOMING_TRACE,
        "public_key": "abc",
        "release": "r 1",
        "sample_rand": trace.dsc["sample_rand"],
    }


def test_an_inherited_baggage_of_another_trace_does_not_reach_the_child() -> None:
    stale = {"SENTRY_BAGGAGE": "sentry-trace_id=" + "f" * 32 + ",sentry-public_key=stale"}
    with metatrace.trace_scope({"sentry-trace": INCOMING["sentry-trace"]}) as trace:
        variables = environ()
        tags, parent = _run_child({**stale, **variables})
    assert variables["SENTRY_BAGGAGE"] == ""  # no key configured, so no DSC of our own
    assert parent == trace.span_id
    assert "baggage" not in tags
    assert tags["sentry-trace"].startswith(INCOMING_TRACE)


def test_get_sentry_trace_is_the_clear_name_of_get_traceparent() -> None:
    with metatrace.trace_scope({"sentry-trace": SENTRY_TRACE}) as context:
        assert metatrace.get_sentry_trace() == metatrace.get_traceparent() == context.sentry_trace
        assert context.traceparent.startswith("00-")  # the W3C one is another value


@pytest.mark.parametrize(
    "module, names",
    [
        ("metatrace.config", ["SettingError", "Config", "configure", "get_config"]),
        ("metatrace.templating", ["CachedTraceMetaWarning", "elastic_page_load"]),
        ("metatrace.responses", ["HEAD_LIMIT"]),
    ],
)
def test_the_paths_that_moved_still_import_with_a_deprecation_warning(
    module: str, names: list[str]
) -> None:
    # The three modules the docs of 0.1 named: a shim each, for one release (the CHANGELOG).
    code = (
        "import importlib, warnings\n"
        "warnings.simplefilter('error')\n"
        f"try:\n    importlib.import_module({module!r})\n"
        "except DeprecationWarning as warning:\n    print(warning)\n"
        "warnings.simplefilter('ignore')\n"
        f"shim = importlib.import_module({module!r})\n"
        "import metatrace, metatrace._core.config, metatrace._pages.responses\n"
        f"print(all(hasattr(shim, name) for name in {names!r}))\n"
        "print(shim.__dict__.get('SettingError', metatrace.SettingError) is metatrace.SettingError)"
    )
    result = run_python(code)
    said, present, same = result.stdout.strip().splitlines()
    assert said.startswith(f"{module} is deprecated: use metatrace.") and said.endswith(
        "(see the CHANGELOG, 0.2.0)"
    ), result.stderr
    assert present == same == "True"
