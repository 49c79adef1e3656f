"""Branches the rest of the suite did not reach, each tested for what it does: the settings'
error messages, the tracer sources' fallbacks, Celery's signal handlers at their edges, the
outgoing headers' withdrawal, the system checks and the clients' hooks."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from django.core.checks import Error
from django.test import AsyncClient, Client
from requests import PreparedRequest

import metatrace
import metatrace.celery
from metatrace.checks import check_middleware
from metatrace.config import SettingError
from metatrace.outgoing import inject
from metatrace.requests import TraceAdapter
from metatrace.sources import describe
from tests import tracers
from tests.conftest import INCOMING_SPAN, INCOMING_TRACE, parse_trace_meta, run_python

SENTRY_TRACE = f"{INCOMING_TRACE}-{INCOMING_SPAN}-1"


# config.py: each bad setting names itself and says what is wrong ------------------------------


@pytest.mark.parametrize(
    "targets, problem",
    [
        ("api.example.com", "must be a list of regular expressions, or None, not 'api."),
        ({"a": 1}, "must be a list of regular expressions, or None, not {"),
        (["ok", 3], "must hold strings (regular expressions), not 3"),
        (["ok", "(unclosed"], "'(unclosed' is not a regular expression: missing )"),
    ],
    ids=["a-string", "a-dict", "a-number-inside", "a-bad-pattern"],
)
def test_bad_propagation_targets_are_named(targets: Any, problem: str) -> None:
    with pytest.raises(SettingError) as raised:
        metatrace.configure(propagation_targets=targets)
    assert raised.value.name == "propagation_targets"
    assert raised.value.problem.startswith(problem)


def test_propagation_targets_are_kept_as_a_tuple() -> None:
    assert metatrace.configure(propagation_targets=["a", r"^https://b\."]).propagation_targets == (
        "a",
        r"^https://b\.",
    )


# A source whose tracer is not installed: sys.modules[name] = None is how Python itself says
# "cannot be imported", so a fresh interpreter with that entry stands for one without it.
MISSING = """
import sys
sys.modules[{module!r}] = None
from metatrace.config import SettingError, configure
try:
    configure(source={source!r})
except SettingError as error:
    print(error.name, "|", error.problem)
"""


@pytest.mark.parametrize(
    "module, source, extra",
    [("sentry_sdk", "sentry_sdk", "sentry"), ("opentelemetry", "opentelemetry", "otel")],
)
def test_a_source_whose_tracer_is_missing_names_the_extra(
    module: str, source: str, extra: str
) -> None:
    result = run_python(MISSING.format(module=module, source=source))
    assert result.returncode == 0, result.stderr
    name, problem = result.stdout.strip().split(" | ")
    assert name == "source"
    assert problem == f"{source!r} needs {module}: pip install 'metatrace-html[{extra}]'"


# sources.py: which tracer is in charge, and the fallbacks -------------------------------------


def test_describe_names_sentry_while_its_span_runs() -> None:

    metatrace.configure(source="auto")
    with tracers.sentry(), tracers.root_span("t"):
        assert (
            describe() == "source 'auto': sentry-sdk, because its client is active and a span runs"
        )
    assert describe().startswith("source 'auto': metatrace's own context for now")


def test_describe_names_opentelemetry_while_its_span_is_current() -> None:
    from opentelemetry import trace

    tracers.otel_exporter()
    metatrace.configure(source="auto")
    with trace.get_tracer("tests").start_as_current_span("s") as span:
        assert describe() == "source 'auto': OpenTelemetry, because a span is current"
        trace_id = f"{span.get_span_context().trace_id:032x}"
        assert metatrace.current_trace().trace_id == trace_id


def test_opentelemetry_as_the_source_never_asks_sentry() -> None:
    from opentelemetry import trace

    tracers.otel_exporter()
    metatrace.configure(source="opentelemetry")
    with (
        tracers.sentry(),
        tracers.root_span("t") as transaction,
        trace.get_tracer("tests").start_as_current_span("s") as span,
    ):
        current = metatrace.current_trace()
        assert current.trace_id == f"{span.get_span_context().trace_id:032x}"
        assert current.trace_id != transaction.trace_id
    assert describe() == "source 'opentelemetry' (set in the settings)"


def test_a_sentry_span_whose_ids_cannot_be_rendered_falls_back_to_our_own_trace() -> None:
    import sentry_sdk

    metatrace.configure(source="sentry_sdk", public_key="abc")
    with tracers.sentry(), tracers.root_span("t") as root:
        # Neither line checks a trace id it is given (2.x takes one as an argument).
        setattr(root, "_trace_id" if tracers.SENTRY_MAJOR >= 3 else "trace_id", "not-a-hex-id")
        assert not sentry_sdk.get_traceparent().startswith(metatrace.current_trace().trace_id)
        current = metatrace.current_trace()
        assert current is metatrace.get_active()  # metatrace's own context
        assert len(current.trace_id) == 32 and int(current.trace_id, 16)
        assert "sentry-trace" in parse_trace_meta(str(current.meta()))


NAMED_SOURCE = """
import sys
import metatrace
metatrace.configure(source={source!r})
assert {module!r} not in sys.modules
trace = metatrace.current_trace()
print(json.dumps([{module!r} in sys.modules, trace is metatrace.get_active(), len(trace.trace_id)]))
"""


@pytest.mark.parametrize(
    "source, module", [("sentry_sdk", "sentry_sdk"), ("opentelemetry", "opentelemetry.trace")]
)
def test_a_named_source_is_imported_when_first_needed(source: str, module: str) -> None:
    result = run_python("import json\n" + NAMED_SOURCE.format(source=source, module=module))
    assert result.returncode == 0, result.stderr
    imported, own, length = json.loads(result.stdout)
    assert imported is True
    assert length == 32
    # sentry-sdk always has a trace (its propagation context); OpenTelemetry without a span
    # has none, so metatrace's own context carries the page.
    assert own is (source == "opentelemetry")


def test_auto_with_sentry_loaded_but_inactive_does_not_import_opentelemetry() -> None:
    result = run_python(
        "import sys, sentry_sdk, metatrace\n"
        "trace = metatrace.current_trace()\n"
        "print('opentelemetry.trace' in sys.modules, trace is metatrace.get_active())"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "True"]


def test_auto_with_only_opentelemetry_loaded_carries_its_span() -> None:
    # A site traced by OpenTelemetry alone: sentry-sdk is never imported.
    result = run_python(
        "import sys\n"
        "from opentelemetry import trace\n"
        "from opentelemetry.sdk.trace import TracerProvider\n"
        "import metatrace\n"
        "trace.set_tracer_provider(TracerProvider())\n"
        "with trace.get_tracer('t').start_as_current_span('s') as span:\n"
        "    ours = metatrace.current_trace().trace_id\n"
        "print('sentry_sdk' in sys.modules, ours == f'{span.get_span_context().trace_id:032x}')"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "True"]


# otel.py: OpenTelemetry continues the request without its instrumentation -------------------

OTEL_HEADERS = {"traceparent": f"00-{INCOMING_TRACE}-{INCOMING_SPAN}-01"}


@pytest.mark.urls("tests.urls")
def test_otel_source_continues_the_w3c_trace_in_an_async_request(settings: Any) -> None:
    tracers.otel_exporter()
    settings.METATRACE = {"SOURCE": "opentelemetry", "W3C": True}
    settings.MIDDLEWARE = ["metatrace.middleware.TraceMiddleware"]

    async def get() -> Any:
        return await AsyncClient().get("/t/tag/", headers=OTEL_HEADERS)

    response = asyncio.run(get())
    tags = parse_trace_meta(response.content.decode())
    assert tags["traceparent"].startswith(f"00-{INCOMING_TRACE}-")
    assert (
        tags["traceparent"].split("-")[2] == INCOMING_SPAN
    )  # OpenTelemetry's own span: the remote parent


@pytest.mark.urls("tests.urls")
def test_otel_source_leaves_a_current_server_span_alone(client: Client, settings: Any) -> None:
    settings.METATRACE = {"SOURCE": "opentelemetry", "W3C": True}
    with tracers.otel_django() as exporter:
        response = client.get("/t/tag/", headers=OTEL_HEADERS)
    tags = parse_trace_meta(response.content.decode())
    (server,) = [span for span in exporter.get_finished_spans() if span.kind.name == "SERVER"]
    assert tags["traceparent"] == f"00-{INCOMING_TRACE}-{server.context.span_id:016x}-01"


# celery.py: the signal handlers at their edges ------------------------------------------------


@pytest.fixture
def celery_signals() -> Any:
    from celery import signals

    metatrace.celery.connect()
    yield signals
    metatrace.celery.connect()  # whatever a test did, the handlers stay connected


def test_a_protocol_1_message_without_headers_is_left_alone(celery_signals: Any) -> None:
    celery_signals.before_task_publish.send(sender="t", headers=None, body=("args",))
    assert metatrace.get_active() is None


def test_nested_headers_already_there_are_updated_in_place(celery_signals: Any) -> None:
    nested = {"custom": "kept", "sentry-trace": "stale"}
    headers: dict[str, Any] = {"headers": nested}
    with metatrace.trace_scope({"sentry-trace": SENTRY_TRACE}) as context:
        celery_signals.before_task_publish.send(sender="t", headers=headers)
    assert headers["headers"] is nested
    assert nested["custom"] == "kept"
    assert nested["sentry-trace"] == headers["sentry-trace"] == context.sentry_trace


def test_disconnected_handlers_add_nothing(celery_signals: Any) -> None:
    metatrace.celery.disconnect()
    headers: dict[str, Any] = {}
    celery_signals.before_task_publish.send(sender="t", headers=headers)
    assert headers == {}
    metatrace.celery.connect()
    celery_signals.before_task_publish.send(sender="t", headers=headers)
    assert set(headers) >= {"sentry-trace", "headers"}


def test_prerun_without_a_task_does_nothing(celery_signals: Any) -> None:
    celery_signals.task_prerun.send(sender=None, task_id=None, task=None)
    celery_signals.task_postrun.send(sender=None, task_id=None)
    celery_signals.task_postrun.send(sender=None, task_id="never-started")
    assert metatrace.get_active() is None


def test_a_published_task_without_a_trace_starts_its_own(celery_signals: Any) -> None:
    from tests import celery_app

    task = celery_app.render_report
    task.push_request(headers={"unrelated": "1"}, is_eager=False)
    try:
        celery_signals.task_prerun.send(sender=task, task_id="t1", task=task)
        context = metatrace.get_active()
        assert context is not None and not context.continued
        celery_signals.task_postrun.send(sender=task, task_id="t1")
    finally:
        task.pop_request()
    assert metatrace.get_active() is None


def test_top_level_headers_count_when_the_nested_ones_carry_no_trace(
    celery_signals: Any,
) -> None:
    from tests import celery_app

    task = celery_app.render_report
    task.push_request(headers={"unrelated": "1"}, **{"sentry-trace": SENTRY_TRACE})
    try:
        celery_signals.task_prerun.send(sender=task, task_id="t2", task=task)
        context = metatrace.get_active()
        assert context is not None
        assert (context.trace_id, context.parent_span_id) == (INCOMING_TRACE, INCOMING_SPAN)
        celery_signals.task_postrun.send(sender=task, task_id="t2")
    finally:
        task.pop_request()


# outgoing.py, requests.py: headers for hosts outside the targets ------------------------------


def test_a_callers_own_trace_header_stays_for_a_host_outside_the_targets() -> None:
    metatrace.configure(propagation_targets=["^https://api\\."])
    headers = {"Sentry-Trace": SENTRY_TRACE, "traceparent": "00-x"}
    inject(headers, "https://elsewhere.example/")
    # Not ours, so not withdrawn: the caller set them for this call.
    assert headers == {"sentry-trace": SENTRY_TRACE, "traceparent": "00-x"}


def test_a_request_without_a_url_is_left_alone() -> None:
    request = PreparedRequest()
    request.prepare_headers({"X": "1"})
    TraceAdapter().add_headers(request)
    assert dict(request.headers) == {"X": "1"}
    request.prepare_url("https://api.example/", None)
    TraceAdapter().add_headers(request)
    assert request.headers["sentry-trace"] == metatrace.get_traceparent()


# checks.py --------------------------------------------------------------------------------------


def test_a_broken_middleware_entry_is_not_taken_for_trace_middleware(settings: Any) -> None:
    settings.MIDDLEWARE = ["no.such.module.Middleware"]
    messages = check_middleware()
    assert [(type(message), message.id) for message in messages] == [(Error, "metatrace.E001")]


# templating.py: `{{ trace_meta }}` without the call, in Jinja -----------------------------------


@pytest.mark.parametrize("autoescape", [True, False], ids=["autoescape", "no-autoescape"])
def test_jinja_renders_trace_meta_without_the_call(autoescape: bool) -> None:
    import jinja2

    from metatrace.jinja import TraceMetaExtension

    metatrace.configure(public_key="abc")
    environment = jinja2.Environment(extensions=[TraceMetaExtension], autoescape=autoescape)
    template = environment.from_string("<head>{{ trace_meta }}</head>")
    with metatrace.trace_scope({"sentry-trace": SENTRY_TRACE}) as context:
        html = template.render()
    tags = parse_trace_meta(html)
    assert tags["sentry-trace"] == context.sentry_trace
    assert html == f"<head>{context.meta()}</head>"


def test_the_repr_of_trace_meta_renders_nothing() -> None:
    # A debugger or a log line showing the template context must not start a trace.
    from metatrace.templating import lazy_trace_meta

    assert "sentry-trace" not in repr(lazy_trace_meta)
    assert metatrace.get_active() is None


# formats.py and context.py: the tracestate cap, and a scope left without being entered ---------

TRACEPARENT = f"00-{INCOMING_TRACE}-{INCOMING_SPAN}-01"


@pytest.mark.parametrize(
    "tracestate, kept",
    [
        ("a=1, ,b=2,\t,", "a=1,b=2"),
        ("a=1" + "," * (8192 - 3), "a=1"),  # empty members count towards the header cap
        ("a=1" + "," * (8192 - 2), None),
    ],
    ids=["empty-members-dropped", "at-the-header-cap", "one-over-the-header-cap"],
)
def test_tracestate_drops_empty_members_and_headers_over_the_cap(
    tracestate: str, kept: str | None
) -> None:
    context = metatrace.continue_trace({"traceparent": TRACEPARENT, "tracestate": tracestate})
    assert context.trace_id == INCOMING_TRACE
    assert context.tracestate == kept


def test_a_scope_closed_without_being_entered_changes_nothing() -> None:
    before = metatrace.get_active()
    with metatrace.trace_scope({"sentry-trace": SENTRY_TRACE}) as outer:
        inner = metatrace.trace_scope({})
        inner.__exit__(None, None, None)
        assert metatrace.get_active() is outer
    assert metatrace.get_active() is before


def test_a_wsgi_style_mapping_carries_tracestate_too() -> None:
    """HTTP_* keys in any mapping (a WSGI environ copied into a dict, Django's META)."""
    context = metatrace.continue_trace({"HTTP_TRACEPARENT": TRACEPARENT, "HTTP_TRACESTATE": "a=1"})
    assert (context.trace_id, context.tracestate) == (INCOMING_TRACE, "a=1")


# context.py: a tracer's span (sentry-sdk's, exact) goes out as the tracer made it ------------

OTHER_TRACE_ID = "0123456789abcdef0123456789abcdef"


def test_a_tracers_span_keeps_its_baggage_and_tracestate_exactly() -> None:
    from metatrace.context import SpanContext

    baggage = f"sentry-trace_id={INCOMING_TRACE},sentry-public_key=k,vendor=1"
    span = SpanContext(INCOMING_TRACE, INCOMING_SPAN, True, baggage, exact=True, tracestate="a=1")
    assert repr(span) == f"<SpanContext {INCOMING_TRACE}-{INCOMING_SPAN}-1>"
    assert span.baggage == baggage
    assert dict(span.dsc) == {"trace_id": INCOMING_TRACE, "public_key": "k"}
    assert span.third_party_baggage == ("vendor=1",)
    assert span.tracestate == "a=1"


def test_a_tracers_span_sends_its_baggage_in_its_own_order() -> None:
    """sentry-sdk's header goes out as it made it, even where metatrace would order it
    otherwise (sentry members first)."""
    from metatrace.context import SpanContext

    baggage = f"vendor=1,sentry-trace_id={INCOMING_TRACE},sentry-public_key=k"
    span = SpanContext(INCOMING_TRACE, INCOMING_SPAN, True, baggage, exact=True)
    assert span.baggage == baggage
    assert span.headers()["baggage"] == baggage


def test_a_tracers_span_without_baggage_sends_none() -> None:
    from metatrace.context import SpanContext

    span = SpanContext(INCOMING_TRACE, INCOMING_SPAN, None, None, exact=True)
    assert (span.baggage, dict(span.dsc), span.tracestate) == ("", {}, None)
    assert "baggage" not in span.headers()


def test_a_tracers_dsc_of_another_trace_is_not_sent() -> None:
    from metatrace.context import SpanContext

    baggage = f"sentry-trace_id={OTHER_TRACE_ID},sentry-public_key=k"
    span = SpanContext(INCOMING_TRACE, INCOMING_SPAN, True, baggage, exact=True)
    assert dict(span.dsc) == {}
    assert "baggage" not in parse_trace_meta(str(span.meta()))


def test_a_trace_context_names_its_class_and_header_in_its_repr() -> None:
    context = metatrace.continue_trace({"sentry-trace": SENTRY_TRACE})
    assert repr(context) == f"<TraceContext {context.sentry_trace}>"


@pytest.mark.parametrize(
    "tracestate, kept",
    [
        ("a=" + "x" * 254 + ",b=" + "y" * 253, True),  # 512 characters
        ("a=" + "x" * 254 + ",b=" + "y" * 254, False),  # 513
        ("a=1\r", False),  # only spaces and tabs are optional whitespace
        ("a=1,\x0bb=2", False),
    ],
    ids=["512-characters", "513-characters", "carriage-return", "vertical-tab"],
)
def test_tracestate_at_its_size_limit_and_with_other_whitespace(
    tracestate: str, kept: bool
) -> None:
    context = metatrace.continue_trace({"traceparent": TRACEPARENT, "tracestate": tracestate})
    assert context.tracestate == (tracestate if kept else None)


def test_a_scope_entered_twice_says_so() -> None:
    scope = metatrace.trace_scope({})
    with scope, pytest.raises(RuntimeError) as raised:
        scope.__enter__()
    assert str(raised.value) == "metatrace: a trace_scope() can be entered only once"


def test_sentry_fields_with_a_hyphen_or_token_characters_are_written_canonically() -> None:
    """'-' is escaped in a field (sentry-python reads a field up to the next '-'), as '%2D';
    the token characters a key may hold stay as they are."""
    from metatrace.formats import format_baggage, parse_baggage

    header = format_baggage({"my-field": "v", "a!b#c": "1", "trace_id": INCOMING_TRACE})
    assert header == f"sentry-my%2Dfield=v,sentry-a!b#c=1,sentry-trace_id={INCOMING_TRACE}"
    assert parse_baggage(header).sentry == {
        "my-field": "v",
        "a!b#c": "1",
        "trace_id": INCOMING_TRACE,
    }


@pytest.mark.parametrize(
    "carrier, message",
    [
        (None, "; to start a new trace, pass {} or no argument"),
        ([("sentry-trace", SENTRY_TRACE)], ""),
    ],
    ids=["none", "a-list"],
)
def test_a_carrier_that_is_no_mapping_is_named_in_the_error(carrier: Any, message: str) -> None:
    with pytest.raises(TypeError) as raised:
        metatrace.continue_trace(carrier)
    assert str(raised.value) == (
        "metatrace: the carrier must be a mapping (HTTP headers, a WSGI environ or os.environ), "
        f"not {type(carrier).__name__}{message}"
    )


def test_keys_that_are_not_strings_are_skipped() -> None:
    context = metatrace.continue_trace({1: "x", b"baggage": b"y", "sentry-trace": SENTRY_TRACE})
    assert context.trace_id == INCOMING_TRACE


@pytest.mark.parametrize("end", ["\n", "\r", "\x0b"], ids=["newline", "return", "vertical-tab"])
def test_a_traceparent_ending_in_other_whitespace_is_not_continued(end: str) -> None:
    context = metatrace.continue_trace({"traceparent": TRACEPARENT + end})
    assert context.trace_id != INCOMING_TRACE
    assert metatrace.continue_trace({"traceparent": TRACEPARENT + " \t"}).trace_id == INCOMING_TRACE


def test_a_plus_in_a_sentry_value_is_escaped_on_the_way_out() -> None:
    """'+' means a space to some readers (form decoding): it leaves as %2B, the same text."""
    baggage = f"sentry-trace_id={INCOMING_TRACE},sentry-public_key=k,sentry-release=1+2"
    context = metatrace.continue_trace({"sentry-trace": SENTRY_TRACE, "baggage": baggage})
    assert "sentry-release=1%2B2," in context.baggage + ","
    assert context.dsc["release"] == "1+2"


def test_headers_follow_a_new_configuration() -> None:
    metatrace.configure(public_key="k", w3c=False)
    context = metatrace.continue_trace({"sentry-trace": SENTRY_TRACE})
    assert "traceparent" not in context.headers()
    metatrace.configure(public_key="k", w3c=True)
    assert context.headers()["traceparent"].split("-")[1] == INCOMING_TRACE
