"""Fuzzing target: arbitrary bytes as sentry-trace, baggage and traceparent.

Run with `make fuzz` (FUZZ_SECONDS=600 by default), or directly:
    python fuzz/fuzz_headers.py -max_total_time=600 -rss_limit_mb=2048
Any exception, or output that breaks the invariants below, is a crash that atheris reports.
"""

from __future__ import annotations

import re
import sys

import atheris

with atheris.instrument_imports():
    import metatrace
    from metatrace import formats
    from metatrace.context import TraceContext

# The only markup metatrace may produce: these tags, in this order, with escaped values.
META = re.compile(
    r'<meta name="sentry-trace" content="[0-9a-f]{32}-[0-9a-f]{16}(?:-[01])?">'
    r'(?:<meta name="baggage" content="[^"<>]*">)?'
    r'(?:<meta name="traceparent" content="00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]">)?'
)
VISIBLE_ASCII = re.compile(r"[\x21-\x7e]+")


def test_one_input(data: bytes) -> None:
    provider = atheris.FuzzedDataProvider(data)
    w3c = provider.ConsumeBool()
    # Headers arrive as latin-1 decoded bytes (WSGI) or as arbitrary str (other carriers).
    values = [
        provider.ConsumeBytes(provider.ConsumeIntInRange(0, 4096)).decode("latin-1")
        if provider.ConsumeBool()
        else provider.ConsumeUnicodeNoSurrogates(provider.ConsumeIntInRange(0, 4096))
        for _ in range(3)
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


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
