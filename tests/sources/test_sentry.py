"""metatrace/_sources/sentry.py: the real sentry-sdk as the source, through an adapter per line."""

from __future__ import annotations

import contextlib
import json
import urllib.request
from typing import Any

import pytest

import metatrace
from tests import tracers
from tests.conftest import (
    INCOMING_SPAN,
    INCOMING_TRACE,
    decode_baggage,
    parse_trace_meta,
    split_sentry_trace,
)
from tests.sources.headers import HEADERS

pytestmark = [pytest.mark.urls("tests.urls"), pytest.mark.usefixtures("django_config")]


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


# Each line of sentry-sdk has an adapter (_SENTRY_LINES in _sources/sentry.py) that answers
# one question: which span is the request's root. Its contract, on the line installed here (the
# matrix runs the others: tools/matrix.py).


def test_the_adapter_of_the_installed_line_names_the_root_below_any_span() -> None:
    import sentry_sdk

    from metatrace._sources.sentry import _SENTRY_LINES

    adapter = _SENTRY_LINES[tracers.SENTRY_MAJOR]
    with tracers.sentry(), tracers.root_span("GET /") as root:
        assert adapter(sentry_sdk) is root
        with tracers.child_span("render"), tracers.child_span("inner"):
            assert adapter(sentry_sdk) is root
            current = metatrace.current_trace()
            assert (current.trace_id, current.span_id) == (root.trace_id, root.span_id)
            assert current.sentry_trace.endswith("-1")
    with tracers.sentry():
        assert adapter(sentry_sdk) is None  # no span runs


def test_an_unsampled_root_is_rendered_with_its_flag_and_ids() -> None:
    metatrace.configure(source="sentry_sdk")
    with (
        tracers.sentry(traces_sample_rate=0.0),
        tracers.root_span("GET /") as root,
        tracers.child_span("render"),
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


@pytest.mark.parametrize("tracing", [False, True], ids=["uninitialised", "tracing-on"])
def test_sentry_source_without_a_span_uses_its_propagation_context(tracing: bool) -> None:
    import sentry_sdk

    metatrace.configure(source="sentry_sdk")
    client = tracers.sentry() if tracing else contextlib.nullcontext()
    with client, sentry_sdk.isolation_scope():
        assert sentry_sdk.get_current_span() is None
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
