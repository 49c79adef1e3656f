"""The core API, in plain Python: carriers, continuation rules, head of trace, propagation."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Mapping
from typing import Any

import pytest
from bs4 import BeautifulSoup

import metatrace
from metatrace.config import SettingError
from metatrace.formats import parse_baggage
from tests.conftest import (
    INCOMING_SPAN,
    INCOMING_TRACE,
    decode_baggage,
    parse_trace_meta,
    run_python,
)

SENTRY_TRACE = f"{INCOMING_TRACE}-{INCOMING_SPAN}-1"
TRACEPARENT = f"00-{'a' * 32}-{'b' * 16}-01"
BAGGAGE = (
    f"sentry-trace_id={INCOMING_TRACE},sentry-public_key=49d0f7386ad645858ae85020e393bef3,"
    "sentry-release=web%401.2,sentry-sample_rate=0.5,sentry-sampled=true,vendor=v1;p=1"
)
DSN = "https://49d0f7386ad645858ae85020e393bef3@o447951.ingest.sentry.io/5"


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


def test_no_carrier_starts_a_new_trace() -> None:
    first, second = metatrace.continue_trace(), metatrace.continue_trace()
    assert not first.continued and first.trace_id != second.trace_id
    assert metatrace.get_active() is second


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


def test_valid_sentry_trace_wins_over_traceparent() -> None:
    context = metatrace.continue_trace({"sentry-trace": SENTRY_TRACE, "traceparent": TRACEPARENT})
    assert context.trace_id == INCOMING_TRACE


def test_traceparent_is_used_when_sentry_trace_is_invalid() -> None:
    context = metatrace.continue_trace({"sentry-trace": "nonsense", "traceparent": TRACEPARENT})
    assert (context.trace_id, context.parent_span_id, context.sampled) == ("a" * 32, "b" * 16, True)


def test_traceparent_alone_is_continued_with_its_flag() -> None:
    context = metatrace.continue_trace({"traceparent": TRACEPARENT[:-2] + "00"})
    assert (context.trace_id, context.sampled) == ("a" * 32, False)


@pytest.mark.parametrize("flag, expected", [("-1", True), ("-0", False), ("", None)])
def test_sampling_flag_carries_through(flag: str, expected: bool | None) -> None:
    context = metatrace.continue_trace({"sentry-trace": f"{INCOMING_TRACE}-{INCOMING_SPAN}{flag}"})
    assert context.sampled is expected
    assert context.sentry_trace == f"{INCOMING_TRACE}-{context.span_id}{flag}"


def test_baggage_of_another_trace_is_dropped_but_third_party_members_stay() -> None:
    baggage = BAGGAGE.replace(INCOMING_TRACE, "f" * 32)
    context = metatrace.continue_trace({"sentry-trace": SENTRY_TRACE, "baggage": baggage})
    assert dict(context.dsc) == {}
    assert "baggage" not in parse_trace_meta(metatrace.trace_meta())
    assert context.baggage == "vendor=v1;p=1"


def test_baggage_without_a_trace_is_dropped() -> None:
    context = metatrace.continue_trace({"baggage": BAGGAGE})
    assert not context.continued
    assert dict(context.dsc) == {}


@pytest.mark.parametrize(
    "carrier",
    [
        {},
        {"sentry-trace": ""},
        {"sentry-trace": "x" * 100_000, "baggage": "=" * 100_000, "traceparent": "-" * 9000},
        {"sentry-trace": "'\"><script>alert(1)</script>", "traceparent": "\x00\r\n"},
    ],
    ids=["nothing", "empty", "huge", "hostile"],
)
def test_bad_input_starts_a_new_trace(carrier: dict[str, str]) -> None:
    metatrace.configure(public_key="abc", traces_sample_rate=1.0)
    context = metatrace.continue_trace(carrier)
    assert not context.continued
    assert context.parent_span_id is None
    tags = parse_trace_meta(metatrace.trace_meta())
    assert tags["sentry-trace"] == f"{context.trace_id}-{context.span_id}-1"
    assert decode_baggage(tags["baggage"])["trace_id"] == context.trace_id


_TRACEPARENT = f"00-{INCOMING_TRACE}-{INCOMING_SPAN}-01"


@pytest.mark.parametrize(
    "headers, messages",
    [
        ({"sentry-trace": "garbage"}, ["ignoring malformed sentry-trace 'garbage'"]),
        ({"traceparent": "00-garbage"}, ["ignoring malformed traceparent '00-garbage'"]),
        ({"traceparent": _TRACEPARENT}, []),
        (
            # Not continued, so its DSC belongs to no trace of ours either.
            {"traceparent": _TRACEPARENT, "baggage": "sentry-org_id=2"},
            [
                "not continuing a trace of another organisation",
                "dropping baggage sentry items of another trace",
            ],
        ),
        (
            {"traceparent": _TRACEPARENT, "baggage": f"sentry-trace_id={'f' * 32}"},
            ["dropping baggage sentry items of another trace"],
        ),
    ],
    ids=["sentry-trace", "traceparent", "valid", "other-org", "other-trace"],
)
def test_input_that_is_not_continued_is_logged_at_debug_only_when_read(
    caplog: pytest.LogCaptureFixture, headers: dict[str, str], messages: list[str]
) -> None:
    metatrace.configure(org_id="1")
    caplog.set_level(logging.DEBUG, logger="metatrace")
    metatrace.continue_trace(headers)
    assert caplog.records == []  # lazy: nothing is parsed yet
    metatrace.trace_meta()
    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [
        (logging.DEBUG, f"metatrace: {message}") for message in messages
    ]


def test_head_of_trace_unconfigured_leaves_the_sentry_tags_to_the_browser() -> None:
    # @sentry/browser 11 freezes an empty DSC from a sentry-trace tag without baggage, and
    # then sends no public key: without our own key we let the browser start the trace.
    context = metatrace.continue_trace({})
    assert parse_trace_meta(metatrace.trace_meta()) == {}
    assert context.sampled is None
    assert metatrace.propagation_headers() == {"sentry-trace": context.sentry_trace}
    metatrace.configure(w3c=True)
    assert parse_trace_meta(metatrace.trace_meta()) == {"traceparent": context.traceparent}


@pytest.mark.parametrize("version", [None, "11.12.0", "10.39.0"])
def test_no_sentry_trace_without_a_dsc_for_browsers_that_freeze_an_empty_one(
    version: str | None,
) -> None:
    # No key of ours and no DSC came in: @sentry/browser 11.12 and earlier would continue the
    # trace with an empty, frozen DSC (no public key), so the tags leave the trace to it.
    metatrace.configure(w3c=True, sentry_browser_version=version)
    context = metatrace.continue_trace({"sentry-trace": SENTRY_TRACE})
    assert parse_trace_meta(metatrace.trace_meta()) == {"traceparent": context.traceparent}
    assert [name for name, _ in context.page_fields()] == ["traceparent"]
    assert context.headers()["sentry-trace"] == context.sentry_trace  # the next service gets it


@pytest.mark.parametrize("version", ["11.17.0", "11.17", "12.0.0-beta.1", "v13.2.1"])
def test_sentry_trace_without_a_dsc_for_browsers_that_fill_in_their_own(version: str) -> None:
    metatrace.configure(sentry_browser_version=version)
    context = metatrace.continue_trace({"sentry-trace": SENTRY_TRACE})
    assert parse_trace_meta(metatrace.trace_meta()) == {"sentry-trace": context.sentry_trace}
    assert [name for name, _ in context.page_fields()] == ["sentry-trace"]
    started = metatrace.continue_trace()  # no key, no rate: the browser decides
    assert parse_trace_meta(started.meta()) == {
        "sentry-trace": f"{started.trace_id}-{started.span_id}"
    }


@pytest.mark.parametrize("version", ["11", "eleven", "11.x", "", 11.17])
def test_a_bad_browser_version_fails_fast_naming_the_setting(version: Any) -> None:
    with pytest.raises(
        SettingError, match=r"^metatrace: sentry_browser_version .* is not a version"
    ):
        metatrace.configure(sentry_browser_version=version)


@pytest.mark.parametrize("rate, sampled, flag", [(1.0, "true", "1"), (0.0, "false", "0")])
def test_head_of_trace_configured_freezes_a_full_dsc(rate: float, sampled: str, flag: str) -> None:
    metatrace.configure(dsn=DSN, release="web@2", environment="staging", traces_sample_rate=rate)
    context = metatrace.continue_trace({})
    tags = parse_trace_meta(metatrace.trace_meta())
    assert tags["sentry-trace"] == f"{context.trace_id}-{context.span_id}-{flag}"
    dsc = decode_baggage(tags["baggage"])
    rand = dsc.pop("sample_rand")
    assert 0 <= float(rand) < 1 and len(rand) == 8
    assert dsc == {
        "trace_id": context.trace_id,
        "public_key": "49d0f7386ad645858ae85020e393bef3",
        "org_id": "447951",
        "release": "web@2",
        "environment": "staging",
        "sample_rate": repr(rate),
        "sampled": sampled,
    }


def test_head_sampling_follows_sample_rand() -> None:
    metatrace.configure(public_key="abc", traces_sample_rate=0.5)
    for _ in range(200):
        context = metatrace.continue_trace({})
        assert (float(context.dsc["sample_rand"]) < 0.5) is context.sampled
        assert context.dsc["environment"] == "production"


def test_incoming_trace_without_dsc_gets_ours_consistent_with_its_flag() -> None:
    metatrace.configure(public_key="abc", traces_sample_rate=0.25)
    for flag, sampled in (("1", True), ("0", False)):
        context = metatrace.continue_trace(
            {"sentry-trace": f"{INCOMING_TRACE}-{INCOMING_SPAN}-{flag}"}
        )
        assert context.sampled is sampled
        assert context.dsc["trace_id"] == INCOMING_TRACE
        assert context.dsc["sampled"] == str(sampled).lower()
        assert (float(context.dsc["sample_rand"]) < 0.25) is sampled


def test_incoming_dsc_is_kept_frozen_and_gets_a_sample_rand_that_agrees() -> None:
    metatrace.configure(dsn=DSN, release="ours", traces_sample_rate=1.0)
    context = metatrace.continue_trace({"sentry-trace": SENTRY_TRACE, "baggage": BAGGAGE})
    dsc = dict(context.dsc)
    assert float(dsc.pop("sample_rand")) < 0.5  # sampled at sample_rate 0.5
    assert dsc == parse_baggage(BAGGAGE).sentry
    unsampled = metatrace.continue_trace(
        {"sentry-trace": SENTRY_TRACE[:-1] + "0", "baggage": BAGGAGE}
    )
    assert float(unsampled.dsc["sample_rand"]) >= 0.5


def test_incoming_sample_rand_is_kept() -> None:
    baggage = f"{BAGGAGE},sentry-sample_rand=0.123456"
    context = metatrace.continue_trace({"sentry-trace": SENTRY_TRACE, "baggage": baggage})
    assert context.dsc["sample_rand"] == "0.123456"


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


def test_trace_scope_restores_the_previous_context() -> None:
    outer = metatrace.continue_trace({})
    with metatrace.trace_scope({"sentry-trace": SENTRY_TRACE}) as inner:
        assert metatrace.get_active() is inner
        assert inner.trace_id == INCOMING_TRACE
    assert metatrace.get_active() is outer


def test_trace_scope_restores_on_error() -> None:
    with pytest.raises(RuntimeError), metatrace.trace_scope({"sentry-trace": SENTRY_TRACE}):
        raise RuntimeError
    assert metatrace.get_active() is None


async def _task(trace_id: str) -> str:
    with metatrace.trace_scope({"sentry-trace": f"{trace_id}-{INCOMING_SPAN}-1"}):
        await asyncio.sleep(0.01)
        return parse_trace_meta(metatrace.trace_meta())["sentry-trace"][:32]


@pytest.mark.asyncio
async def test_asyncio_tasks_are_isolated() -> None:
    metatrace.configure(public_key="abc")
    ids = [f"{i:032x}" for i in range(1, 51)]
    assert await asyncio.gather(*(_task(trace_id) for trace_id in ids)) == ids
    assert metatrace.get_active() is None


def test_core_imports_neither_django_nor_jinja() -> None:

    code = (
        "import sys, metatrace, metatrace.formats, metatrace.templating;"
        "metatrace.trace_meta();"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('django', 'jinja2')))"
    )
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize(
    "ours, theirs, strict, continued",
    [
        ("1", "1", False, True),
        ("1", "2", False, False),
        ("1", "2", True, False),
        ("1", None, False, True),
        ("1", None, True, False),
        (None, "2", False, True),
        (None, "2", True, False),
        (None, None, True, True),
    ],
)
def test_org_id_decides_whether_a_trace_is_joined(
    ours: str | None, theirs: str | None, strict: bool, continued: bool
) -> None:
    metatrace.configure(org_id=ours, strict_trace_continuation=strict)
    baggage = f"sentry-trace_id={INCOMING_TRACE}" + (f",sentry-org_id={theirs}" if theirs else "")
    context = metatrace.continue_trace({"sentry-trace": SENTRY_TRACE, "baggage": baggage})
    assert context.continued is continued
    assert (context.trace_id == INCOMING_TRACE) is continued
    if not continued:
        assert dict(context.dsc) == {}  # the foreign DSC went with the foreign trace


def test_org_id_comes_from_the_dsn_unless_set() -> None:
    assert metatrace.configure(dsn=DSN).org_id == "447951"
    assert metatrace.configure(dsn=DSN, org_id="12").org_id == "12"


def test_a_scope_is_entered_once() -> None:
    scope = metatrace.trace_scope({})
    with scope, pytest.raises(RuntimeError, match="can be entered only once"), scope:
        pass


def test_a_trace_without_a_dsc_carries_no_baggage_field() -> None:
    # No key of ours, and none came in; a browser that fills in its own DSC.
    metatrace.configure(dsn=None, w3c=False, sentry_browser_version="11.17.0")
    context = metatrace.continue_trace({"sentry-trace": SENTRY_TRACE})
    assert [name for name, _ in context.page_fields()] == ["sentry-trace"]
    assert set(parse_trace_meta(str(context.meta()))) == {"sentry-trace"}


def test_tags_and_server_timing_follow_a_change_of_settings() -> None:
    context = metatrace.continue_trace({"sentry-trace": f"{INCOMING_TRACE}-{INCOMING_SPAN}-1"})
    before = [name for name, _ in context.page_fields()]
    assert "traceparent" not in parse_trace_meta(str(context.meta()))
    metatrace.configure(w3c=True)  # as a test's override_settings does
    assert [name for name, _ in context.page_fields()] == [*before, "traceparent"]
    assert parse_trace_meta(str(context.meta()))["traceparent"] == (
        f"00-{INCOMING_TRACE}-{context.span_id}-01"
    )


def test_tracestate_is_none_without_one_and_travels_beside_a_sentry_trace_of_its_trace() -> None:
    assert metatrace.continue_trace({"traceparent": _TRACEPARENT}).tracestate is None
    both = {
        "sentry-trace": f"{INCOMING_TRACE}-{INCOMING_SPAN}-1",
        "traceparent": _TRACEPARENT,
        "tracestate": "vendor=1",
    }
    assert metatrace.continue_trace(both).tracestate == "vendor=1"


def test_dir_lists_the_public_api_only() -> None:
    # Not the names the package imports to build it (Any, Final, Mapping...).
    assert dir(metatrace) == sorted(metatrace.__all__)
    assert "Mapping" not in dir(metatrace) and metatrace.trace_meta in vars(metatrace).values()
