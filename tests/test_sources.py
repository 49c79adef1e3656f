"""The tracer the site already runs as the source: the real sentry-sdk and OpenTelemetry."""

from __future__ import annotations

import json
import logging
import urllib.request
from typing import Any

import pytest
from django.test import Client

import metatrace
from metatrace.config import SettingError
from metatrace.sources import describe
from tests import tracers
from tests.conftest import (
    INCOMING_SPAN,
    INCOMING_TRACE,
    decode_baggage,
    parse_trace_meta,
    run_python,
    split_sentry_trace,
)

pytestmark = [pytest.mark.urls("tests.urls"), pytest.mark.usefixtures("django_config")]

HEADERS = {
    "sentry-trace": f"{INCOMING_TRACE}-{INCOMING_SPAN}-1",
    "baggage": f"sentry-trace_id={INCOMING_TRACE},sentry-public_key=c1c1,sentry-sample_rate=1,"
    "sentry-sampled=true,sentry-sample_rand=0.25",
}


# Each row of the README's comparison table that claims something of metatrace.
SENTRY_PAGES = [
    "/t/function/",  # a function view with render() and the context processor
    "/t/tag/",  # the template tag
    "/t/class/",  # a class-based view
    "/t/template-response/",  # TemplateResponse
    "/t/render-to-string/",  # render_to_string
    "/t/jinja/",  # Django's Jinja2 backend
]


def _get(live_server: Any, path: str, headers: dict[str, str]) -> str:
    # Through a real WSGI server: sentry-sdk's Django integration hooks WSGIHandler, which
    # Django's test client does not use.
    request = urllib.request.Request(f"{live_server.url}{path}", headers=headers)
    with urllib.request.urlopen(request, timeout=10) as reply:
        return str(reply.read().decode())


# sentry-sdk


@pytest.mark.parametrize("source", ["auto", "sentry_sdk"])
@pytest.mark.parametrize("path", SENTRY_PAGES)
def test_page_carries_the_sentry_transaction(
    live_server: Any, settings: Any, source: str, path: str
) -> None:
    settings.METATRACE = {**settings.METATRACE, "SOURCE": source}
    with tracers.sentry() as roots:
        html = _get(live_server, path, HEADERS)
    [root] = roots  # the transaction (sentry-sdk 2.x) or the segment (3.x) of the request
    tags = parse_trace_meta(html)
    trace_id, span_id, flag = split_sentry_trace(tags["sentry-trace"])
    assert root["trace_id"] == trace_id == INCOMING_TRACE
    # The span the page names is the request's root, not the template render span that was
    # current: the browser's pageload hangs under this request, as Server-Timing says.
    assert span_id == root["span_id"]
    assert root["spans"], "sentry-sdk recorded the spans below it (its render span, say)"
    assert root["parent_span_id"] == INCOMING_SPAN
    assert flag == "1"
    assert decode_baggage(tags["baggage"]) == root["dsc"]


@pytest.mark.parametrize("middleware_spans", [False, True])
def test_get_functions_name_sentry_sdks_transaction(
    live_server: Any, middleware_spans: bool
) -> None:
    # sentry-sdk's own get_traceparent() names the span current in the view: with middleware
    # spans, one of those. metatrace names the request's own, the root, with its DSC.
    with tracers.sentry(middleware_spans=middleware_spans):
        values = json.loads(_get(live_server, "/t/propagation/", HEADERS))
    assert values["traceparent"] == values["transaction"]
    assert values["traceparent"][:32] == values["sentry"][0][:32] == INCOMING_TRACE
    assert values["baggage"] == values["sentry"][1]
    tags = parse_trace_meta(values["meta"])
    assert tags["sentry-trace"] == values["transaction"]
    assert decode_baggage(tags["baggage"]) == decode_baggage(values["sentry"][1])


# Each line of sentry-sdk has an adapter (sources._SENTRY_LINES) that answers one question:
# which span is the request's root. Its contract, on the line installed here (the matrix runs
# the others: tools/matrix.py).


def test_the_adapter_of_the_installed_line_names_the_root_below_any_span() -> None:
    import sentry_sdk

    from metatrace.sources import _SENTRY_LINES

    adapter = _SENTRY_LINES[tracers.SENTRY_MAJOR]
    with tracers.sentry(), tracers.root_span("GET /") as root:
        assert adapter(sentry_sdk) is root
        with sentry_sdk.start_span(name="render"), sentry_sdk.start_span(name="inner"):
            assert adapter(sentry_sdk) is root
            current = metatrace.current_trace()
            assert (current.trace_id, current.span_id) == (root.trace_id, root.span_id)
            assert current.sentry_trace.endswith("-1")
    with tracers.sentry():
        assert adapter(sentry_sdk) is None  # no span runs


def test_an_unsampled_root_is_rendered_with_its_flag_and_ids() -> None:
    import sentry_sdk

    metatrace.configure(source="sentry_sdk")
    with (
        tracers.sentry(traces_sample_rate=0.0),
        tracers.root_span("GET /") as root,
        sentry_sdk.start_span(name="render"),
    ):
        assert metatrace.get_traceparent() == f"{root.trace_id}-{root.span_id}-0"


def test_with_tracing_off_the_page_names_sentrys_propagation_context() -> None:
    import sentry_sdk

    metatrace.configure(source="sentry_sdk")
    with tracers.sentry(traces_sample_rate=None), sentry_sdk.isolation_scope():
        sentry_sdk.continue_trace(HEADERS)
        with tracers.root_span("GET /"):
            assert metatrace.get_traceparent() == sentry_sdk.get_traceparent()
            assert metatrace.get_traceparent().startswith(INCOMING_TRACE)


def test_a_dsc_of_another_trace_gets_one_of_sentry_sdks_own_settings() -> None:
    # metatrace configured with no key: the DSC it freezes takes sentry-sdk's client options.
    import sentry_sdk

    other = {**HEADERS, "baggage": HEADERS["baggage"].replace(INCOMING_TRACE, "f" * 32)}
    metatrace.configure(source="sentry_sdk")
    with (
        tracers.sentry(release="shop@2", environment="staging"),
        sentry_sdk.isolation_scope(),
        tracers.root_span("GET /", other) as root,
    ):
        dsc = dict(metatrace.current_trace().dsc)
    assert (dsc["trace_id"], dsc["public_key"], dsc["org_id"]) == (
        INCOMING_TRACE,
        tracers.SENTRY_DSN.split("//")[1].split("@")[0],
        "1",
    )
    assert (dsc["release"], dsc["environment"], dsc["sampled"]) == ("shop@2", "staging", "true")
    assert root.trace_id == INCOMING_TRACE


@pytest.mark.parametrize("version", ["4.0.0", "1.45.1", "5.0.0a1"])
def test_a_tracer_of_a_major_not_tested_is_named_once_at_start_up(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, version: str
) -> None:
    import sentry_sdk  # noqa: F401 (imported: the site runs it)

    from metatrace import sources

    real = sources.metadata.version
    monkeypatch.setattr(
        sources.metadata, "version", lambda name: version if name == "sentry-sdk" else real(name)
    )
    monkeypatch.setattr(sources, "_untested_said", False)
    caplog.set_level(logging.WARNING, logger="metatrace")
    sources.warn_untested()
    sources.warn_untested()
    assert [record.getMessage() for record in caplog.records] == [
        f"metatrace: sentry-sdk {version} is a major release that metatrace has not been tested "
        "with (it is tested with 2.x and 3.x). The pages may name the wrong span; run `python -m "
        "metatrace check` on a page, and see the README for the supported releases."
    ]


def test_a_tracer_outside_any_distribution_is_not_judged(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import sentry_sdk  # noqa: F401

    from metatrace import sources

    def missing(name: str) -> str:
        raise sources.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(sources.metadata, "version", missing)
    assert sources.untested() == []


def test_a_sentry_dsn_that_is_no_dsn_of_ours_gives_no_dsc_of_its_keys() -> None:
    # sentry-sdk takes a key with an underscore; a Sentry DSN has none. No key, no DSC.
    import sentry_sdk

    other = {**HEADERS, "baggage": HEADERS["baggage"].replace(INCOMING_TRACE, "f" * 32)}
    metatrace.configure(source="sentry_sdk")
    with (
        tracers.sentry(dsn="https://odd_key@o1.ingest.example.invalid/2"),
        sentry_sdk.isolation_scope(),
        tracers.root_span("GET /", other),
    ):
        current = metatrace.current_trace()
        assert current.trace_id == INCOMING_TRACE
        assert dict(current.dsc) == {}


@pytest.mark.asyncio
async def test_an_async_request_names_the_otel_span_current_as_it_entered() -> None:
    # The async middleware pins the span as the sync one does, and unpins it on the way out.
    from django.test import AsyncClient
    from opentelemetry import trace

    tracers.otel_exporter()
    metatrace.configure(source="opentelemetry", public_key="abc", w3c=True)
    with trace.get_tracer("tests").start_as_current_span("server") as span:
        response = await AsyncClient().get("/t/async/")
        context = span.get_span_context()
    tags = parse_trace_meta(response.content.decode())
    assert tags["traceparent"] == f"00-{context.trace_id:032x}-{context.span_id:016x}-01"


def test_a_streamed_page_under_metatrace_alone_pins_nothing_and_renders_its_trace() -> None:
    metatrace.configure(source="metatrace", public_key="abc")
    response = Client().get("/t/streaming/", headers=HEADERS)
    html = b"".join(response.streaming_content).decode()  # type: ignore[attr-defined]
    assert parse_trace_meta(html)["sentry-trace"].startswith(INCOMING_TRACE)


def test_the_tracers_installed_here_are_of_tested_majors() -> None:
    import ddtrace  # noqa: F401
    import elasticapm  # noqa: F401
    import opentelemetry.trace  # noqa: F401
    import sentry_sdk  # noqa: F401

    from metatrace.sources import untested

    assert untested() == []


def test_sentry_source_without_a_transaction_uses_its_propagation_context() -> None:
    import sentry_sdk

    metatrace.configure(source="sentry_sdk")
    with sentry_sdk.isolation_scope():
        sentry_sdk.continue_trace(HEADERS)
        assert metatrace.get_traceparent() == sentry_sdk.get_traceparent()
        tags = parse_trace_meta(metatrace.trace_meta())
        assert tags["sentry-trace"].startswith(INCOMING_TRACE)


def test_auto_ignores_an_inactive_sentry_sdk() -> None:
    import sentry_sdk

    assert not sentry_sdk.get_client().is_active()
    metatrace.configure(source="auto")
    with metatrace.trace_scope(HEADERS) as ours:
        assert metatrace.get_traceparent() == ours.sentry_trace


# OpenTelemetry


def test_current_otel_span_is_rendered() -> None:
    from opentelemetry import trace

    tracers.otel_exporter()
    metatrace.configure(public_key="abc", w3c=True)  # source "auto"
    with trace.get_tracer("tests").start_as_current_span("server") as span:
        context = span.get_span_context()
        tags = parse_trace_meta(metatrace.trace_meta())
    trace_id, span_id = f"{context.trace_id:032x}", f"{context.span_id:016x}"
    assert tags["traceparent"] == f"00-{trace_id}-{span_id}-01"
    assert tags["sentry-trace"] == f"{trace_id}-{span_id}-1"
    assert decode_baggage(tags["baggage"])["trace_id"] == trace_id
    # Outside the span, metatrace's own context is back.
    assert not parse_trace_meta(metatrace.trace_meta())["traceparent"].startswith(f"00-{trace_id}")


def test_unsampled_otel_span_renders_its_flag() -> None:
    from opentelemetry import trace
    from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

    metatrace.configure(public_key="abc", w3c=True, source="opentelemetry")
    remote = SpanContext(0xABC, 0xDEF, is_remote=True, trace_flags=TraceFlags(0))
    with trace.use_span(NonRecordingSpan(remote)):
        tags = parse_trace_meta(metatrace.trace_meta())
    assert tags["traceparent"] == f"00-{0xABC:032x}-{0xDEF:016x}-00"
    assert tags["sentry-trace"] == f"{0xABC:032x}-{0xDEF:016x}-0"


@pytest.mark.parametrize("source", ["auto", "opentelemetry"])
def test_page_carries_the_otel_server_span(settings: Any, source: str) -> None:
    settings.METATRACE = {**settings.METATRACE, "SOURCE": source, "W3C": True}
    incoming = {"traceparent": f"00-{INCOMING_TRACE}-{INCOMING_SPAN}-01"}
    with tracers.otel_django() as exporter:
        html = Client().get("/t/tag/", headers=incoming).content.decode()
        [server] = [s for s in exporter.get_finished_spans() if s.kind.name == "SERVER"]
    tags = parse_trace_meta(html)
    context = server.get_span_context()
    assert f"{context.trace_id:032x}" == INCOMING_TRACE  # OpenTelemetry continued the headers
    assert f"{server.parent.span_id:016x}" == INCOMING_SPAN
    assert tags["traceparent"] == f"00-{INCOMING_TRACE}-{context.span_id:016x}-01"


def test_otel_source_continues_w3c_headers_with_its_own_propagators(settings: Any) -> None:
    settings.METATRACE = {**settings.METATRACE, "SOURCE": "opentelemetry", "W3C": True}
    tracers.otel_exporter()
    incoming = {"traceparent": f"00-{INCOMING_TRACE}-{INCOMING_SPAN}-01"}
    values = Client().get("/t/propagation/", headers=incoming).json()
    assert parse_trace_meta(values["meta"])["traceparent"] == incoming["traceparent"]


# Choosing and describing the source


def test_describe_says_which_source_and_why() -> None:
    metatrace.configure(source="metatrace")
    assert describe() == "source 'metatrace' (set in the settings)"
    metatrace.configure(source="auto")
    assert describe().startswith("source 'auto': metatrace's own context for now")


def test_a_source_that_is_not_installed_fails_fast() -> None:
    code = (
        "import sys; sys.modules['sentry_sdk'] = None\n"
        "import metatrace\n"
        "try:\n    metatrace.configure(source='sentry_sdk')\n"
        "except ValueError as error:\n    print(error)\n"
    )
    result = run_python(code)
    assert result.stdout.strip() == (
        "metatrace: source 'sentry_sdk' needs sentry_sdk: pip install 'metatrace-html[sentry]'"
    )


def test_an_unknown_source_fails_fast() -> None:
    with pytest.raises(SettingError, match="'sentry' is not one of 'auto', 'metatrace'"):
        metatrace.configure(source="sentry")


def test_auto_imports_no_tracer() -> None:
    code = (
        "import sys, metatrace\n"
        "metatrace.configure(source='auto')\n"
        "metatrace.trace_meta(); metatrace.propagation_headers()\n"
        "print(sorted(m for m in sys.modules if m.startswith(('sentry_sdk', 'opentelemetry'))))"
    )
    result = run_python(code)
    assert result.stdout.strip() == "[]", result.stderr


@pytest.mark.parametrize("source", ["opentelemetry", "auto"])
def test_no_trace_outlives_its_request_when_the_tracer_has_no_span(
    settings: Any, source: str
) -> None:
    # OpenTelemetry without its Django instrumentation, or sentry-sdk without its Django
    # integration: each request must still get a trace of its own, in the same thread.
    import sentry_sdk

    settings.METATRACE = {**settings.METATRACE, "SOURCE": source}
    sentry_sdk.init(dsn=tracers.SENTRY_DSN, default_integrations=False)
    try:
        client = Client()
        first = parse_trace_meta(client.get("/t/tag/").content.decode())
        second = parse_trace_meta(client.get("/t/tag/").content.decode())
        continued = parse_trace_meta(client.get("/t/tag/", headers=HEADERS).content.decode())
    finally:
        sentry_sdk.Scope.get_global_scope().set_client(None)
    assert first["traceparent"][3:35] != second["traceparent"][3:35]
    assert continued["traceparent"][3:35] == INCOMING_TRACE
    assert metatrace.get_active() is None


def test_check_sentry_source_without_its_django_integration(settings: Any) -> None:
    import sentry_sdk

    from metatrace.checks import check_source

    settings.METATRACE = {**settings.METATRACE, "SOURCE": "sentry_sdk"}
    sentry_sdk.init(dsn=tracers.SENTRY_DSN, default_integrations=False)
    try:
        assert [message.id for message in check_source()] == ["metatrace.W003"]
    finally:
        sentry_sdk.Scope.get_global_scope().set_client(None)
    with tracers.sentry():
        assert check_source() == []
