"""Where the time of a continued trace goes: each step of `continue, render, leave`, timed
alone in the same interleaved rounds (information rows, no targets).

The steps are the ones `TraceContext` takes; they are called here one by one so that each
can be timed, which is why this module reaches into the context's private methods."""

from __future__ import annotations

from collections.abc import Callable

import metatrace
from metatrace._core import formats
from metatrace._core.carriers import read_carrier
from metatrace._core.config import get_config
from metatrace._core.context import TraceContext

from .harness import Row, compare, timed_row
from .micro import BAGGAGE, HEADERS, SENTRY_TRACE, configure, metatrace_full


def bench_steps(rounds: int, seconds: float) -> list[Row]:
    configure()
    config = get_config()
    raw = read_carrier(HEADERS)
    incoming = formats.parse_sentry_trace(SENTRY_TRACE)
    baggage = formats.parse_baggage(BAGGAGE)
    assert incoming is not None

    def scope() -> None:
        with metatrace.trace_scope(HEADERS):
            pass

    def complete() -> None:
        TraceContext(*raw)._complete(config, *incoming, baggage, None)

    state = TraceContext(*raw)._resolve()

    def render() -> None:
        context = TraceContext(*raw)
        context._resolved = state  # parsed already: only the rendering is timed
        context._render(config)

    steps: dict[str, Callable[[], object]] = {
        "the whole: continue, render, leave": metatrace_full,
        "read the carrier, create the context, enter and leave it": scope,
        "parse sentry-trace": lambda: formats.parse_sentry_trace(SENTRY_TRACE),
        "parse baggage (9 members)": lambda: formats.parse_baggage(BAGGAGE),
        "create a context, pair trace and DSC, fit the DSC": complete,
        "create a context, render the tags": render,
    }
    t = compare(list(steps.values()), rounds, seconds)
    return [
        timed_row(f"step: {name}", micros, t.micros[0], micros / t.micros[0], None)
        for name, micros in zip(steps, t.micros, strict=True)
    ]
