"""Parsing work is bounded: megabyte headers and pathological patterns finish at once.

A regex that backtracks catastrophically would not finish within the timeout (it would take
hours); the timings themselves are measured by `make bench`, not asserted here.
"""

from __future__ import annotations

import subprocess
import sys

PATHOLOGICAL = {
    "huge-sentry-trace": "'a' * 1_000_000",
    "huge-traceparent": "'00-' + '0' * 1_000_000",
    "sentry-prefix-flood": "'sentry-' * 100_000",
    "equals-flood": "'=' * 100_000",
    "dash-flood": "'-' * 1_000_000",
    "ows-flood": "'k' + ' ' * 4000 + '=v' + ' ' * 4000 + 'x'",
    "property-flood": "'k=v' + ';p' * 2000 + ' x'",
    "comma-flood": "',' * 1_000_000",
    "almost-valid-trace": "('0123456789abcdef' * 2 + '-') * 60_000",
    "tabs-then-junk": "'\\t' * 1_000_000 + 'x'",
    "near-limit-members": "','.join(['k=' + 'v' * 40] * 180) + ' x'",
}

SCRIPT = """
import sys
from metatrace._core import formats
from metatrace._core.context import TraceContext
import metatrace
metatrace.configure(public_key="abc", w3c=True)
for expression in sys.argv[1:]:
    value = eval(expression)
    formats.parse_sentry_trace(value)
    formats.parse_traceparent(value)
    formats.parse_baggage(value)
    context = TraceContext(value, value, value)
    context.meta()
    context.headers()
    # The same value as a single baggage member and as a sentry value, under the header limit.
    formats.parse_baggage(value[:8000])
    formats.parse_baggage("sentry-release=" + value[:8000])
print("done")
"""


def test_pathological_inputs_finish_quickly() -> None:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, *PATHOLOGICAL.values()],
        capture_output=True,
        text=True,
        timeout=60,  # linear work takes well under a second; backtracking would take hours
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "done"


def test_oversized_trace_headers_are_not_read() -> None:
    from metatrace._core import formats

    valid = "12312012123120121231201212312012-0415201309082013-1"
    assert formats.parse_sentry_trace(valid + "," + " " * 9000) is None
    assert formats.parse_traceparent(f"cc-{valid[:32]}-{valid[33:49]}-01-" + "x" * 9000) is None


def test_oversized_baggage_is_dropped_before_any_member_is_looked_at() -> None:
    from metatrace._core import formats

    huge = "sentry-release=x," * 100_000
    assert formats.parse_baggage(huge) == formats.EMPTY_BAGGAGE
