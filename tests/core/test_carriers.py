"""metatrace/_core/carriers.py: the trace in any carrier: HTTP headers, WSGI environ, os.environ."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import pytest
from django.test import Client

import metatrace
import metatrace.wsgi
from metatrace._core import formats
from metatrace._core.context import TraceContext
from tests.conftest import INCOMING_SPAN, INCOMING_TRACE, SENTRY_TRACE, parse_trace_meta
from tests.core.incoming import _TRACEPARENT, BAGGAGE, TRACEPARENT


class ReadOnlyHeaders(Mapping[str, Any]):
    """A Mapping that is not a dict, as Starlette's and requests' header objects are."""

    def __init__(self, items: dict[str, Any]) -> None:
        self._items = items

    def __getitem__(self, key: str) -> Any:
        return self._items[key]

    def __iter__(self) -> Any:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)


@pytest.mark.parametrize(
    "carrier",
    [
        {"sentry-trace": SENTRY_TRACE, "baggage": BAGGAGE},
        {"Sentry-Trace": SENTRY_TRACE, "Baggage": BAGGAGE},
        {"SENTRY-TRACE": SENTRY_TRACE, "BAGGAGE": BAGGAGE},
        {"sentry-trace": [SENTRY_TRACE, f"{'c' * 32}-{'d' * 16}-0"], "baggage": [BAGGAGE]},
        {"sentry-trace": SENTRY_TRACE.encode(), "baggage": BAGGAGE.encode()},
        {"HTTP_SENTRY_TRACE": SENTRY_TRACE, "HTTP_BAGGAGE": BAGGAGE, "REQUEST_METHOD": "GET"},
        {"SENTRY_TRACE": SENTRY_TRACE, "SENTRY_BAGGAGE": BAGGAGE, "PATH": "/usr/bin"},
        ReadOnlyHeaders({"sentry-TRACE": SENTRY_TRACE, "bAgGaGe": BAGGAGE}),
        {"sentry-trace": SENTRY_TRACE, "BAGGAGE": BAGGAGE},
    ],
    ids=["lower", "title", "upper", "lists", "bytes", "wsgi", "environ", "mapping", "mixed"],
)
def test_continue_trace_from_every_carrier(carrier: Mapping[str, Any]) -> None:
    context = metatrace.continue_trace(carrier)
    assert metatrace.get_active() is context
    assert context.trace_id == INCOMING_TRACE
    assert context.parent_span_id == INCOMING_SPAN
    assert context.span_id not in (INCOMING_SPAN, "0" * 16)
    assert context.sampled is True
    assert context.dsc["release"] == "web@1.2"
    assert context.third_party_baggage == ("vendor=v1;p=1",)


def test_continue_trace_from_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SENTRY_TRACE", SENTRY_TRACE)
    monkeypatch.setenv("SENTRY_BAGGAGE", BAGGAGE)
    context = metatrace.continue_trace(os.environ)
    assert (context.trace_id, context.dsc["release"]) == (INCOMING_TRACE, "web@1.2")


def test_continue_trace_from_a_job_message() -> None:
    message_headers = {"task": "send_report", "id": "42", "sentry-trace": SENTRY_TRACE}
    assert metatrace.continue_trace(message_headers).trace_id == INCOMING_TRACE


def test_repeated_baggage_headers_are_combined() -> None:
    carrier = {"sentry-trace": SENTRY_TRACE, "baggage": [BAGGAGE, "other=2"]}
    assert metatrace.continue_trace(carrier).third_party_baggage == ("vendor=v1;p=1", "other=2")


def test_carrier_must_be_a_mapping() -> None:
    with pytest.raises(TypeError, match=r"the carrier must be a mapping .* not list"):
        metatrace.continue_trace([("sentry-trace", SENTRY_TRACE)])  # type: ignore[arg-type]


@pytest.mark.parametrize("start", [metatrace.continue_trace, metatrace.trace_scope])
def test_none_is_not_a_carrier(start: Any) -> None:
    # Like any other non-mapping: a programmer error, with the way to start a new trace.
    with pytest.raises(TypeError, match=r"not NoneType; to start a new trace, pass \{\} or no"):
        start(None)


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


def test_non_text_header_values_are_ignored() -> None:
    context = metatrace.continue_trace({"sentry-trace": 42, "baggage": None})
    assert not context.continued


@pytest.mark.parametrize(
    "traceparent, tracestate",
    [
        (TRACEPARENT.encode(), b"vendor=1,other=2"),  # bytes, as Celery and ASGI carry them
        ([TRACEPARENT], [b"vendor=1", "other=2"]),  # repeated headers, as a list
        ((TRACEPARENT.encode(),), ("vendor=1", b"other=2")),
    ],
)
def test_traceparent_and_tracestate_in_bytes_or_repeated_are_continued(
    traceparent: Any, tracestate: Any
) -> None:
    metatrace.configure(w3c=True)
    context = metatrace.continue_trace({"traceparent": traceparent, "tracestate": tracestate})
    assert context.trace_id == "a" * 32
    assert context.tracestate == "vendor=1,other=2"
    assert context.headers()["tracestate"] == "vendor=1,other=2"


def test_a_wsgi_style_mapping_carries_tracestate_too() -> None:
    """HTTP_* keys in any mapping (a WSGI environ copied into a dict, Django's META)."""
    context = metatrace.continue_trace({"HTTP_TRACEPARENT": _TRACEPARENT, "HTTP_TRACESTATE": "a=1"})
    assert (context.trace_id, context.tracestate) == (INCOMING_TRACE, "a=1")


# A W3C-only trace through a WSGI environ -------------------------------------------------------


def test_a_w3c_only_trace_continues_through_a_wsgi_environ() -> None:
    metatrace.configure(public_key="abc", w3c=True)
    seen: list[TraceContext] = []

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen.append(environ["metatrace"])
        start_response("200 OK", [("Content-Type", "text/html")])
        return [f"<head>{metatrace.trace_meta()}</head>".encode()]

    middleware = metatrace.wsgi.TraceMiddleware(app)  # type: ignore[arg-type]
    environ = {
        "REQUEST_METHOD": "GET",
        "HTTP_TRACEPARENT": f"00-{INCOMING_TRACE}-{INCOMING_SPAN}-01",
    }
    body = b"".join(middleware(environ, lambda status, headers, exc_info=None: None))
    (context,) = seen
    assert (context.trace_id, context.parent_span_id, context.sampled) == (
        INCOMING_TRACE,
        INCOMING_SPAN,
        True,
    )
    tags = parse_trace_meta(body.decode())
    assert tags["traceparent"] == f"00-{INCOMING_TRACE}-{context.span_id}-01"
    assert tags["sentry-trace"] == f"{INCOMING_TRACE}-{context.span_id}-1"
    dsc = formats.parse_baggage(tags["baggage"]).sentry
    assert dsc["trace_id"] == INCOMING_TRACE  # our DSC, frozen for the continued trace
    assert dsc["sampled"] == "true"
    assert float(dsc["sample_rand"]) < 1.0


def test_a_w3c_only_trace_through_django(client: Client, settings: Any) -> None:
    settings.METATRACE = {"W3C": True, "PUBLIC_KEY": "abc"}
    headers = {"traceparent": f"00-{INCOMING_TRACE}-{INCOMING_SPAN}-00"}
    tags = parse_trace_meta(client.get("/", headers=headers).content.decode())
    assert tags["traceparent"].startswith(f"00-{INCOMING_TRACE}-")
    assert tags["traceparent"].endswith("-00")
    assert tags["sentry-trace"].startswith(f"{INCOMING_TRACE}-")
    assert tags["sentry-trace"].endswith("-0")


# read_environ, the fast path for a WSGI environ, is a twin of read_carrier.
ENVIRONS = [
    {},
    {"HTTP_SENTRY_TRACE": SENTRY_TRACE, "HTTP_BAGGAGE": BAGGAGE},
    {"HTTP_TRACEPARENT": TRACEPARENT, "HTTP_TRACESTATE": "a=1", "HTTP_HOST": "x"},
    {"HTTP_SENTRY_TRACE": [SENTRY_TRACE, "x"], "HTTP_BAGGAGE": b"k=v", "HTTP_TRACESTATE": None},
    {"HTTP_SENTRY_TRACE": 7, "PATH_INFO": "/", "wsgi.input": object()},
]


@pytest.mark.parametrize("environ", ENVIRONS)
def test_the_environ_fast_path_reads_what_the_general_one_reads(environ: dict[str, Any]) -> None:
    from metatrace._core.carriers import read_carrier, read_environ

    assert read_environ(environ) == read_carrier(environ)
