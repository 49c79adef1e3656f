"""A trace we start with a key configured (most page loads) takes a short path in
`TraceContext._render`; it must give exactly what the general path gives.

The general path is reached here through the context's own steps (`_complete`, then
`_render` with the state already resolved, which renders it as `_render_resolved`), since
from outside the short path always wins:
the point is that the two agree, value for value, for every setting that shapes the output.
"""

from __future__ import annotations

from typing import Any

import pytest

import metatrace
from metatrace import formats
from metatrace.config import get_config
from metatrace.context import TraceContext
from tests.conftest import parse_trace_meta

KEY = "49d0f7386ad645858ae85020e393bef3"
SETTINGS: dict[str, dict[str, Any]] = {
    "no-rate": {"public_key": KEY},
    "rate-0": {"public_key": KEY, "traces_sample_rate": 0.0},
    "rate-quarter": {"public_key": KEY, "traces_sample_rate": 0.25},
    "rate-1": {"public_key": KEY, "traces_sample_rate": 1.0},
    "w3c": {"public_key": KEY, "traces_sample_rate": 0.25, "w3c": True},
    "w3c-no-rate": {"public_key": KEY, "w3c": True},
    "everything": {
        "dsn": f"https://{KEY}@o447951.ingest.sentry.io/5461230",
        "release": "shop@1.4.2 + «beta»",
        "environment": " staging & <qa> ",
        "traces_sample_rate": 0.5,
        "w3c": True,
    },
}
# Random bits: (sample_rand's 64, the trace id's 128, the span id's 64).
DRAWS = {
    "zero-draw": (0, 1, 1),
    "below-quarter": (249_999, 2**127 + 5, 2**63 + 7),
    "at-quarter": (250_000, 3, 3),
    "top": (999_999, 2**128 - 1, 2**64 - 1),
    "all-ones": (2**64 - 1, 2**128 - 1, 2**64 - 1),
    "zero-ids": (123_456, 0, 0),  # never all-zero ids: the fallback of _hex_ids
    "zero-trace": (123_456, 0, 5),
    "zero-span": (123_456, 5, 0),
    # The fallback keeps every bit of the other id, and none of sample_rand's (an odd one).
    "zero-span-full-trace": (123_457, 2**128 - 1, 0),
    "zero-trace-full-span": (123_457, 0, 2**64 - 1),
}


def drawn(sample: int, trace: int, span: int) -> TraceContext:
    context = TraceContext()
    context._rand = (sample << 192) | (trace << 64) | span
    return context


def general(context: TraceContext) -> TraceContext:
    """`context` resolved and rendered by the general path."""
    config = get_config()
    trace_id = f"{((context._rand >> 64) & (2**128 - 1)) or 1:032x}"
    context._resolved = context._complete(config, trace_id, None, None, formats.EMPTY_BAGGAGE, None)
    context._render(config)
    return context


@pytest.mark.parametrize("draw", DRAWS.values(), ids=DRAWS.keys())
@pytest.mark.parametrize("settings", SETTINGS.values(), ids=SETTINGS.keys())
def test_the_short_path_gives_what_the_general_path_gives(
    settings: dict[str, Any], draw: tuple[int, int, int]
) -> None:
    metatrace.configure(**settings)
    short, reference = drawn(*draw), general(drawn(*draw))
    assert str(short.meta()) == str(reference.meta())
    assert short.page_fields() == reference.page_fields()
    assert short._resolved == reference._resolved
    assert list(short.dsc.items()) == list(reference.dsc.items())  # the order too
    assert short.headers() == reference.headers()
    tags = parse_trace_meta(str(short.meta()))
    assert tags["baggage"] == short.baggage
    trace_id, span_id, *_ = tags["sentry-trace"].split("-")
    assert int(trace_id, 16) and int(span_id, 16)  # W3C: never all-zero


@pytest.mark.parametrize("draw", DRAWS.values(), ids=DRAWS.keys())
def test_the_ids_are_the_drawn_bits_in_hex_and_never_all_zero(draw: tuple[int, int, int]) -> None:
    metatrace.configure(public_key=KEY)
    _, trace, span = draw
    context = drawn(*draw)
    expected_trace, expected_span = f"{trace or 1:032x}", f"{span or 1:016x}"
    assert (context.trace_id, context.span_id) == (expected_trace, expected_span)
    assert parse_trace_meta(str(context.meta()))["sentry-trace"].startswith(
        f"{expected_trace}-{expected_span}"
    )


def test_resolving_without_rendering_takes_the_short_path_too() -> None:
    metatrace.configure(public_key=KEY, traces_sample_rate=0.25)
    context, reference = drawn(249_999, 7, 9), general(drawn(249_999, 7, 9))
    assert context.sampled is True
    assert context.baggage == reference.baggage
    assert context.meta() == reference.meta()


def test_settings_too_long_for_one_header_take_the_general_path() -> None:
    """A release over the per-member limit is left out, as fit_baggage leaves it out."""
    metatrace.configure(public_key=KEY, release="r" * 5000, traces_sample_rate=1.0)
    with metatrace.trace_scope() as context:
        tags = parse_trace_meta(str(metatrace.trace_meta()))
    assert "release" not in context.dsc
    sentry = formats.parse_baggage(tags["baggage"]).sentry
    assert sentry["public_key"] == KEY and sentry["sampled"] == "true"
    assert "release" not in sentry


def test_a_started_trace_without_a_key_has_no_sentry_tags() -> None:
    metatrace.configure(traces_sample_rate=1.0, w3c=True)
    with metatrace.trace_scope():
        tags = parse_trace_meta(str(metatrace.trace_meta()))
    assert set(tags) == {"traceparent"}
    assert tags["traceparent"].endswith("-01")


def test_a_new_configuration_is_seen_by_the_next_trace() -> None:
    metatrace.configure(public_key=KEY, release="1.0")
    with metatrace.trace_scope() as first:
        assert first.dsc["release"] == "1.0"
    metatrace.configure(public_key=KEY, release="2.0", traces_sample_rate=0.0)
    with metatrace.trace_scope() as second:
        assert second.dsc["release"] == "2.0"
        assert second.dsc["sampled"] == "false"
        assert parse_trace_meta(str(metatrace.trace_meta()))["sentry-trace"].endswith("-0")
