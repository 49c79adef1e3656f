"""Subprocesses: a real child process continues the trace from SENTRY_TRACE and SENTRY_BAGGAGE."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import metatrace
from metatrace.envvars import environ
from tests.conftest import (
    INCOMING_SPAN,
    INCOMING_TRACE,
    decode_baggage,
    parse_trace_meta,
    split_sentry_trace,
)

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
