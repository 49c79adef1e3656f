"""metatrace/_sources/ddtrace.py: dd-trace-py as the source, with Datadog RUM's tags.

The real tracer, in fresh interpreters: its global state stays out of this process."""

from __future__ import annotations

import json

import pytest
from bs4 import BeautifulSoup

from tests.conftest import parse_trace_meta, run_python

DDTRACE = """
import os, json, time
os.environ.update(DD_TRACE_AGENT_URL="http://127.0.0.1:9",
    DD_INSTRUMENTATION_TELEMETRY_ENABLED="false", DD_REMOTE_CONFIGURATION_ENABLED="false")
os.environ.update({env})
from ddtrace.trace import TraceFilter, tracer
class Drop(TraceFilter):
    def process_trace(self, trace):
        return None
tracer.configure(trace_processors=[Drop()])
import metatrace
metatrace.configure(source="ddtrace", public_key="abc")
out = {{"none": str(metatrace.trace_meta())}}
with tracer.trace("django.request") as root:
    with tracer.trace("render"):
        out["html"] = str(metatrace.trace_meta())
        out["headers"] = metatrace.propagation_headers()
    out["root"] = [
        f"{{root.trace_id:032x}}", f"{{root.span_id:016x}}", root.context.sampling_priority
    ]
out["now"] = time.time()
print(json.dumps(out))
"""


@pytest.mark.parametrize("env", [{}, {"DD_TRACE_SAMPLING_RULES": '[{"sample_rate": 0}]'}])
def test_ddtrace_renders_its_root_span_and_datadogs_tags(env: dict[str, str]) -> None:
    result = run_python(DDTRACE.format(env=env))
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    trace_id, span_id, priority = out["root"]
    sampled = priority > 0
    tags = parse_trace_meta(out["html"])
    assert tags["traceparent"] == f"00-{trace_id}-{span_id}-{'01' if sampled else '00'}"
    assert tags["sentry-trace"] == f"{trace_id}-{span_id}-{'1' if sampled else '0'}"
    soup = BeautifulSoup(out["html"], "html.parser")
    dd = {m["name"]: m["content"] for m in soup.find_all("meta") if m["name"].startswith("dd-")}
    assert int(dd["dd-trace-id"]) == int(trace_id, 16) & (2**64 - 1)
    assert out["now"] - 5 < int(dd["dd-trace-time"]) / 1000 <= out["now"]
    assert out["headers"]["sentry-trace"] == tags["sentry-trace"]
    assert out["headers"]["traceparent"] == tags["traceparent"]  # as on the page, without W3C
    # No span of dd-trace-py's: metatrace's own trace, without Datadog's tags.
    assert "dd-trace-id" not in out["none"] and "sentry-trace" in parse_trace_meta(out["none"])
    assert sampled is (env == {})


def test_ddtrace_turned_off_renders_metatraces_own_trace() -> None:
    result = run_python(
        DDTRACE.format(env={"DD_TRACE_ENABLED": "false"}).replace(
            "tracer.configure(trace_processors=[Drop()])", ""
        )
    )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert "dd-trace-id" not in out["html"]
    assert parse_trace_meta(out["html"])["sentry-trace"][:32] != out["root"][0]
