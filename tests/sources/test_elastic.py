"""metatrace/_sources/elastic.py: Elastic's agent as the source, and RUM's page-load values.

The real agent, in fresh interpreters: its global state stays out of this process."""

from __future__ import annotations

import json

import pytest
from bs4 import BeautifulSoup

from tests.conftest import INCOMING_SPAN, INCOMING_TRACE, parse_trace_meta, run_python
from tests.sources.agents import ELASTIC

TRACEPARENT = f"00-{INCOMING_TRACE}-{INCOMING_SPAN}-01"


@pytest.mark.parametrize("rate", [1.0, 0.0])
def test_elastic_renders_its_transaction_and_the_page_load_values(rate: float) -> None:
    code = ELASTIC.format(source="elasticapm", rate=rate, parent=None)
    result = run_python(f"import os; os.environ['SETUP_RECORD'] = '/dev/null'\n{code}")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    trace_id, transaction_id, parent = out["ids"]
    tags = parse_trace_meta(out["html"])
    flag = "01" if rate else "00"
    assert tags["traceparent"] == f"00-{trace_id}-{transaction_id}-{flag}"
    script = BeautifulSoup(out["html"], "html.parser").find(id="elastic-apm-page-load")
    assert script is not None
    assert json.loads(script.get_text()) == {
        "pageLoadTraceId": trace_id,
        "pageLoadSpanId": parent,  # reserved by the agent for the browser: the transaction's parent
        "pageLoadSampled": bool(rate),
    }
    assert parent != transaction_id and out["none"] == ""
    # The Jinja global, with or without a call.
    assert BeautifulSoup(out["jinja"], "html.parser").find_all("script") == [script] * 3


def test_elastic_continues_an_incoming_trace_with_the_callers_span_for_the_page() -> None:
    parent = f"TraceParent.from_string({TRACEPARENT!r})"
    code = ELASTIC.format(source="elasticapm", rate=1.0, parent=parent)
    result = run_python(f"import os; os.environ['SETUP_RECORD'] = '/dev/null'\n{code}")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    trace_id, transaction_id, _ = out["ids"]
    assert trace_id == INCOMING_TRACE
    assert parse_trace_meta(out["html"])["traceparent"] == f"00-{trace_id}-{transaction_id}-01"
    script = BeautifulSoup(out["html"], "html.parser").find(id="elastic-apm-page-load")
    assert script is not None
    # Elastic's agents hand the page the caller's span id: the server transaction's parent.
    assert json.loads(script.get_text()) == {
        "pageLoadTraceId": INCOMING_TRACE,
        "pageLoadSpanId": INCOMING_SPAN,
        "pageLoadSampled": True,
    }


def test_elastic_page_load_renders_nothing_for_another_source() -> None:
    code = ELASTIC.format(source="metatrace", rate=1.0, parent=None)
    result = run_python(f"import os; os.environ['SETUP_RECORD'] = '/dev/null'\n{code}")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert "elastic-apm-page-load" not in out["html"]
    assert parse_trace_meta(out["html"])["traceparent"][3:35] != out["ids"][0]


ELASTIC_IDLE = """
import os
os.environ.pop("DJANGO_SETTINGS_MODULE", None)
import elasticapm
import metatrace
{setup}
metatrace.configure(source="elasticapm", public_key="abc")
{client}
for _ in range(3):  # no transaction runs: metatrace's own trace, and one warning at most
    assert metatrace.current_trace().trace_id
"""
ELASTIC_CLIENT = """
client = elasticapm.Client(service_name="t", server_url="http://127.0.0.1:9",
    central_config=False, cloud_provider="none", metrics_interval="0ms",
    transport_class="tests.setups.elastic_transport.ElasticRecorder")
"""
DJANGO_DEBUG = "import django.conf; django.conf.settings.configure(DEBUG={debug})"


@pytest.mark.parametrize(
    "setup, client, warned",
    [
        ("", "", "Elastic's agent is not running. Add 'elasticapm.contrib.django' to"),
        (DJANGO_DEBUG.format(debug=True), ELASTIC_CLIENT, "Django's DEBUG is True, and Elastic"),
        (DJANGO_DEBUG.format(debug=False), ELASTIC_CLIENT, None),
        ("", ELASTIC_CLIENT, None),  # outside a request: no transaction says nothing
    ],
    ids=["no agent", "django debug", "django", "no django"],
)
def test_elastic_recording_nothing_is_named_once_with_its_cause(
    setup: str, client: str, warned: str | None
) -> None:
    code = ELASTIC_IDLE.format(setup=setup, client=client)
    result = run_python(f"import os; os.environ['SETUP_RECORD'] = '/dev/null'\n{code}")
    assert result.returncode == 0, result.stderr
    said = [line for line in result.stderr.splitlines() if "SOURCE is 'elasticapm'" in line]
    if warned is None:
        assert said == [], result.stderr
    else:
        [line] = said
        assert line.startswith(f"metatrace: SOURCE is 'elasticapm', but {warned}"), line
