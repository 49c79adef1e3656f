"""The incoming trace headers and the DSN that the tests of the core continue."""

from __future__ import annotations

from tests.conftest import INCOMING_SPAN, INCOMING_TRACE

TRACEPARENT = f"00-{'a' * 32}-{'b' * 16}-01"
BAGGAGE = (
    f"sentry-trace_id={INCOMING_TRACE},sentry-public_key=49d0f7386ad645858ae85020e393bef3,"
    "sentry-release=web%401.2,sentry-sample_rate=0.5,sentry-sampled=true,vendor=v1;p=1"
)
DSN = "https://49d0f7386ad645858ae85020e393bef3@o447951.ingest.sentry.io/5"

_TRACEPARENT = f"00-{INCOMING_TRACE}-{INCOMING_SPAN}-01"
