"""What a page carries for the browser SDKs besides Sentry's and OpenTelemetry's: tracestate
and W3C Level 3's `trace` metric (settings), Datadog RUM's tags (SOURCE "ddtrace") and Elastic
RUM's page-load values (SOURCE "elasticapm"), with the real tracers in fresh interpreters."""

from __future__ import annotations

import json
from typing import Any

import pytest
from bs4 import BeautifulSoup
from django.core.exceptions import ImproperlyConfigured

import metatrace
from metatrace.config import SettingError
from metatrace.handover import parse_server_timing, read_handover
from metatrace.responses import read_page
from metatrace.templating import lazy_elastic_page_load
from tests.conftest import INCOMING_SPAN, INCOMING_TRACE, parse_trace_meta, run_python

TRACEPARENT = f"00-{INCOMING_TRACE}-{INCOMING_SPAN}-01"
# A tracestate with every character W3C allows in a value that HTML or a quoted-string escapes.
TRACESTATE = 'congo=t61r"cWk<gMzE>&\\x,rojo=00f067aa0ba902b7'


def _server_timing(context: metatrace.TraceContext) -> dict[str, list[str]]:
    return read_handover("", [context.page().server_timing]).server_timing


def test_tracestate_goes_into_the_page_for_application_insights() -> None:
    metatrace.configure(w3c=True, tracestate=True, public_key="abc")
    context = metatrace.continue_trace({"traceparent": TRACEPARENT, "tracestate": TRACESTATE})
    html = str(context.meta())
    soup = BeautifulSoup(html, "html.parser")
    tag = soup.find("meta", attrs={"name": "tracestate"})
    assert tag is not None and tag["content"] == context.tracestate == TRACESTATE
    assert soup.find("meta", attrs={"name": "traceparent"}) is not None
    assert _server_timing(context)["tracestate"] == [TRACESTATE]  # unquoted as a browser does
    assert ("tracestate", TRACESTATE) in context.page_fields()


def test_no_tracestate_tag_without_the_setting_or_a_tracestate() -> None:
    metatrace.configure(w3c=True, public_key="abc")
    context = metatrace.continue_trace({"traceparent": TRACEPARENT, "tracestate": TRACESTATE})
    assert "tracestate" not in str(context.meta())
    metatrace.configure(w3c=True, tracestate=True, public_key="abc")
    started = metatrace.continue_trace()
    assert "tracestate" not in str(started.meta()) and "tracestate" not in _server_timing(started)


def test_tracestate_needs_w3c(settings: Any) -> None:
    with pytest.raises(SettingError, match=r"^metatrace: tracestate travels with traceparent"):
        metatrace.configure(tracestate=True)
    with pytest.raises(ImproperlyConfigured, match=r"^METATRACE\['TRACESTATE'\] travels with"):
        settings.METATRACE = {"TRACESTATE": True}  # applied as the setting changes


@pytest.mark.parametrize("w3c", [False, True])
@pytest.mark.parametrize("incoming", [{}, {"traceparent": TRACEPARENT}])
def test_the_w3c_trace_metric_names_the_page_span(w3c: bool, incoming: dict[str, str]) -> None:
    metatrace.configure(trace_metric=True, w3c=w3c, public_key="abc", traces_sample_rate=1.0)
    context = metatrace.continue_trace(incoming)
    [metric] = _server_timing(context)["trace"]
    assert metric == f"00-{context.trace_id}-{context.span_id}-01"
    assert ("traceparent" in parse_trace_meta(str(context.meta()))) is w3c
    names = {m["name"] for m in BeautifulSoup(str(context.meta()), "html.parser").find_all("meta")}
    assert "trace" not in names  # in Server-Timing only


def test_no_trace_metric_by_default() -> None:
    metatrace.configure(public_key="abc")
    assert "trace" not in _server_timing(metatrace.continue_trace())


def test_the_trace_metric_needs_server_timing(settings: Any) -> None:
    with pytest.raises(SettingError, match=r"^metatrace: trace_metric is a Server-Timing entry"):
        metatrace.configure(trace_metric=True, server_timing=False)
    with pytest.raises(ImproperlyConfigured, match=r"^METATRACE\['TRACE_METRIC'\] is a Server"):
        settings.METATRACE = {"TRACE_METRIC": True, "SERVER_TIMING": False}


PAGE = {"content-type": "text/html"}


@pytest.mark.parametrize("metric", [False, True])
def test_an_apps_own_trace_entry_stays_unless_metatrace_renders_one(metric: bool) -> None:
    # An app may time something it calls "trace"; only the setting makes the name metatrace's.
    metatrace.configure(public_key="abc", trace_metric=metric)
    with metatrace.trace_scope({}) as context:
        page = read_page({**PAGE, "server-timing": "app;dur=1, trace;dur=5"}, 200, complete=True)
        assert page is not None
        timing = page.header_changes()["Server-Timing"]
    assert timing is not None
    metrics, _ = parse_server_timing([timing])
    traces = [entry.params for entry in metrics if entry.name == "trace"]
    ours = {"desc": context.traceparent}
    assert traces == ([ours] if metric else [{"dur": "5"}])
    assert [entry.name for entry in metrics][:2] == ["app", "sentry-trace" if metric else "trace"]


def test_a_server_timing_that_names_no_trace_is_left_as_it_was() -> None:
    # It mentions "trace" (a shared page's Server-Timing is read for trace entries to remove).
    timing = 'app;desc="stacktrace",  db;dur=2'
    headers = {**PAGE, "cache-control": "public, max-age=60", "server-timing": timing}
    with metatrace.trace_scope({}):
        page = read_page(headers, 200, complete=False)
        assert page is not None and page.header_changes() == {}


# The real tracers, in fresh interpreters: their global state stays out of this process.

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


ELASTIC = """
import json, elasticapm, jinja2
from elasticapm.utils.disttracing import TraceParent
import metatrace
metatrace.configure(source={source!r}, public_key="abc", w3c=True)
client = elasticapm.Client(service_name="t", server_url="http://127.0.0.1:9",
    central_config=False, cloud_provider="none", metrics_interval="0ms",
    transport_class="tests.setups.elastic_transport.ElasticRecorder",
    transaction_sample_rate={rate})
out = {{"none": str(metatrace.elastic_page_load())}}
transaction = client.begin_transaction("request", trace_parent={parent})
out["html"] = str(metatrace.trace_meta()) + str(metatrace.elastic_page_load())
jinja = jinja2.Environment(extensions=["metatrace.jinja.TraceMetaExtension"], autoescape=True)
out["jinja"] = jinja.from_string(
    "{{{{ elastic_page_load }}}}|{{{{ elastic_page_load() }}}}").render()
plain = jinja2.Environment(extensions=["metatrace.jinja.TraceMetaExtension"])  # str(), no escape
out["jinja"] += "|" + plain.from_string("{{{{ elastic_page_load }}}}").render()
out["ids"] = [transaction.trace_parent.trace_id, transaction.id, transaction.trace_parent.span_id]
client.end_transaction("GET /")
client.close()
print(json.dumps(out))
"""


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


def test_the_jinja_global_says_what_it_is() -> None:
    assert repr(lazy_elastic_page_load) == "<LazyElasticPageLoad>"
    assert str(lazy_elastic_page_load) == ""  # SOURCE is not "elasticapm" here


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


ELASTIC_STALE = ELASTIC.split("out = {{")[0] + """
import logging
from metatrace.responses import read_page
logging.basicConfig(level=logging.WARNING, format="%(message)s")
transaction = client.begin_transaction("request")
stale = '<script type="application/json" id="elastic-apm-page-load">{{"pageLoadTraceId":"{other}"}}</script>'
page = read_page({{"content-type": "text/html"}}, 200, complete=True)
body = page.body(("<html><head>" + stale + "</head></html>").encode(), lambda: "the page '/e'")
print(json.dumps({{"body": body.decode(), "trace": transaction.trace_parent.trace_id}}))
client.end_transaction("GET /")
client.close()
"""


def test_a_stale_elastic_script_is_replaced_and_quoted_in_the_warning() -> None:
    other = "0123456789abcdef0123456789abcdef"
    code = ELASTIC_STALE.format(source="elasticapm", rate=1.0, parent=None, other=other)
    result = run_python(f"import os; os.environ['SETUP_RECORD'] = '/dev/null'\n{code}")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    [script] = BeautifulSoup(out["body"], "html.parser").find_all("script")
    assert json.loads(script.get_text())["pageLoadTraceId"] == out["trace"]
    [warning] = [line for line in result.stderr.splitlines() if "another trace" in line]
    assert warning.startswith(
        "metatrace: the page '/e' rendered the trace tags of another trace ('<script "
        f'type="application/json" id="elastic-apm-page-load">{{"pageLoadTraceId":"{other}"}}'
    )
