"""metatrace/_core/head.py: what a trace metatrace starts takes from the settings."""

from __future__ import annotations

import pytest

import metatrace
from tests.conftest import decode_baggage, parse_trace_meta
from tests.core.incoming import DSN


def test_head_of_trace_unconfigured_leaves_the_sentry_tags_to_the_browser() -> None:
    # @sentry/browser 11 freezes an empty DSC from a sentry-trace tag without baggage, and
    # then sends no public key: without our own key we let the browser start the trace.
    context = metatrace.continue_trace({})
    assert parse_trace_meta(metatrace.trace_meta()) == {}
    assert context.sampled is None
    assert metatrace.propagation_headers() == {"sentry-trace": context.sentry_trace}
    metatrace.configure(w3c=True)
    assert parse_trace_meta(metatrace.trace_meta()) == {"traceparent": context.traceparent}


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
