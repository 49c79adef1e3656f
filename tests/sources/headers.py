"""The incoming trace headers that the tests of the sources continue."""

from __future__ import annotations

from tests.conftest import INCOMING_SPAN, INCOMING_TRACE

HEADERS = {
    "sentry-trace": f"{INCOMING_TRACE}-{INCOMING_SPAN}-1",
    "baggage": f"sentry-trace_id={INCOMING_TRACE},sentry-public_key=c1c1,sentry-sample_rate=1,"
    "sentry-sampled=true,sentry-sample_rand=0.25",
}
