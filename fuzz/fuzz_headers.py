"""Fuzzing target: arbitrary bytes as sentry-trace, baggage, traceparent and tracestate.

Run with `make fuzz` (FUZZ_SECONDS=600 by default), or directly:
    python fuzz/fuzz_headers.py -max_total_time=600 -rss_limit_mb=2048
Any exception, or output that breaks the invariants below, is a crash that atheris reports.
The round trip (docs/maintainers/readers.md): what metatrace's own parsers, sentry-python's and
OpenTelemetry's read from its output is what the context means.
"""

from __future__ import annotations

import html as html_module
import re
import sys
from urllib.parse import unquote_plus

import atheris
from opentelemetry import baggage as otel_baggage
from opentelemetry.baggage.propagation import W3CBaggagePropagator
from sentry_sdk.tracing_utils import Baggage, extract_sentrytrace_data

with atheris.instrument_imports():
    import metatrace
    from metatrace._core import formats
    from metatrace._core.context import TraceContext

# The only markup metatrace may produce: these tags, in this order, with escaped values.
META = re.compile(
    r'<meta name="sentry-trace" content="[0-9a-f]{32}-[0-9a-f]{16}(?:-[01])?">'
    r'(?:<meta name="baggage" content="[^"<>]*">)?'
    r'(?:<meta name="traceparent" content="00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]">)?'
)
VISIBLE_ASCII = re.compile(r"[\x21-\x7e]+")
BAGGAGE_TAG = re.compile(r'<meta name="baggage" content="([^"]*)">')
OTEL_BAGGAGE = W3CBaggagePropagator()


def test_one_input(data: bytes) -> None:
    provider = atheris.FuzzedDataProvider(data)
    w3c = provider.ConsumeBool()
    # Headers arrive as latin-1 decoded bytes (WSGI) or as arbitrary str (other carriers).
    values = [
        provider.ConsumeBytes(provider.ConsumeIntInRange(0, 4096)).decode("latin-1")
        if provider.ConsumeBool()
        else provider.ConsumeUnicodeNoSurrogates(provider.ConsumeIntInRange(0, 4096))
        for _ in range(4)
    ]
    metatrace.configure(public_key="abc", traces_sample_rate=0.5, w3c=w3c)
    context = TraceContext(*values)
    html = str(context.meta())
    if not META.fullmatch(html) or html.count("<") != 2 + w3c:
        raise AssertionError(f"unexpected markup {html!r} for {values!r}")
    for value in context.headers().values():
        if not VISIBLE_ASCII.fullmatch(value) or len(value) > formats.BAGGAGE_MAX_BYTES:
            raise AssertionError(f"bad outgoing header {value!r} for {values!r}")
    parsed = formats.parse_baggage(values[1])
    again = formats.parse_baggage(formats.format_baggage(parsed.sentry, parsed.third_party))
    if not again.sentry.items() <= parsed.sentry.items():
        raise AssertionError(f"baggage changed on a round trip: {values[1]!r}")
    round_trip(context, html, values, w3c)


def round_trip(context: TraceContext, html: str, values: list[str], w3c: bool) -> None:
    """Every reader's view of the output is the context's own."""
    headers = context.headers()
    dsc = dict(context.dsc)
    third = list(context.third_party_baggage)
    trace = (context.trace_id, context.span_id, context.sampled)
    baggage = headers.get("baggage", "")
    own = formats.parse_baggage(baggage)
    tag = BAGGAGE_TAG.search(html)
    views = {
        "sentry-trace": formats.parse_sentry_trace(headers["sentry-trace"]) == trace,
        "traceparent": formats.parse_traceparent(context.traceparent)
        == (trace[0], trace[1], trace[2] is not False),
        "tracestate": headers.get("tracestate") == (context.tracestate if w3c else None)
        and (
            context.tracestate is None
            or formats.parse_tracestate(context.tracestate) == context.tracestate
        ),
        "baggage": (own.sentry, list(own.third_party)) == (dsc, third),
        "baggage tag": formats.parse_baggage(
            html_module.unescape(tag.group(1)) if tag else ""
        ).sentry
        == dsc,
        "sentry-python": extract_sentrytrace_data(headers["sentry-trace"])
        == {"trace_id": trace[0], "parent_span_id": trace[1], "parent_sampled": trace[2]}
        and Baggage.from_incoming_header(baggage).sentry_items == dsc,
    }
    entries = otel_baggage.get_all(OTEL_BAGGAGE.extract(headers))
    views["OpenTelemetry"] = {
        key[7:]: value for key, value in entries.items() if key.startswith("sentry-")
    } == dsc and [
        (key, value) for key, value in entries.items() if not key.startswith("sentry-")
    ] == [
        (unquote_plus(key), unquote_plus(rest).strip())
        for key, rest in (member.split("=", 1) for member in third)
    ]
    wrong = [name for name, same in views.items() if not same]
    if wrong:
        raise AssertionError(f"{', '.join(wrong)} read the output differently for {values!r}")


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
