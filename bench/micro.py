"""The core API against sentry-python, OpenTelemetry and a hand-inlined floor; memory."""

from __future__ import annotations

import gc
import re
import sys
import tracemalloc
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from functools import cache
from random import getrandbits, random
from time import perf_counter
from typing import TYPE_CHECKING

from markupsafe import Markup, escape

import metatrace

from .harness import Row, compare, timed_row

if TYPE_CHECKING:
    from opentelemetry.propagators.composite import CompositePropagator

DSN = "https://49d0f7386ad645858ae85020e393bef3@o447951.ingest.sentry.io/5461230"
TRACE_ID = "771a43a4192642f0b136d5159a501700"
PARENT_SPAN_ID = "b7ad6b7169203331"
SENTRY_TRACE = f"{TRACE_ID}-{PARENT_SPAN_ID}-1"
SENTRY_BAGGAGE = (
    f"sentry-trace_id={TRACE_ID},sentry-public_key=49d0f7386ad645858ae85020e393bef3,"
    "sentry-sample_rate=0.25,sentry-sample_rand=0.123456,sentry-sampled=true,"
    "sentry-release=shop%401.4.2,sentry-environment=production,"
    "sentry-transaction=GET%20%2Fcheckout%2F%7Bstep%7D"
)
BAGGAGE = f"{SENTRY_BAGGAGE},other-vendor-value=abc%20123;prop=1"
_BAGGAGE_AFTER_TRACE_ID = BAGGAGE.split(",", 1)[1]
HEADERS = {"sentry-trace": SENTRY_TRACE, "baggage": BAGGAGE}
OTEL_HEADERS = {"traceparent": f"00-{TRACE_ID}-{PARENT_SPAN_ID}-01", "baggage": BAGGAGE}


def configure(source: str = "metatrace") -> None:
    # Our own engine: "auto" would defer to the sentry-sdk client the comparisons start.
    metatrace.configure(
        dsn=DSN,
        release="shop@1.4.2",
        environment="production",
        traces_sample_rate=1.0,
        source=source,
    )


# --- the floor: the least work that is still correct --------------------------------------
_FLOOR_TRACE = re.compile(r"[ \t]*([0-9a-f]{32})-([0-9a-f]{16})(?:-([01]))?[ \t]*")
_FLOOR_BAGGAGE_CHARSET = re.compile(r"[\t\x20-\x7e]*")
_floor_active: ContextVar[Markup | None] = ContextVar("bench_floor", default=None)


def floor(headers: Mapping[str, str]) -> Markup:
    span_id = f"{getrandbits(64):016x}"
    match = _FLOOR_TRACE.fullmatch(headers.get("sentry-trace", ""))
    if match is None:
        trace = f"{getrandbits(128):032x}-{span_id}"
    else:
        trace_id, _, flag = match.groups()
        trace = f"{trace_id}-{span_id}-{flag}" if flag else f"{trace_id}-{span_id}"
    baggage = headers.get("baggage", "")
    sentry = ""
    if len(baggage) <= 8192 and _FLOOR_BAGGAGE_CHARSET.fullmatch(baggage):
        members = (member.strip(" \t") for member in baggage.split(","))
        sentry = ",".join(member for member in members if member.startswith("sentry-"))
    html = Markup(
        f'<meta name="sentry-trace" content="{escape(trace)}">'
        f'<meta name="baggage" content="{escape(sentry)}">'
    )
    token = _floor_active.set(html)
    _floor_active.reset(token)
    return html


_FLOOR_HEAD = (
    ",sentry-public_key=49d0f7386ad645858ae85020e393bef3,sentry-release=shop%401.4.2,"
    "sentry-environment=production,sentry-sample_rate=1.0"
)


def floor_started() -> Markup:
    """A trace started with a key configured, by hand: two ids, one sample_rand, one format
    string over the DSC part that the settings fix, and entering and leaving a context."""
    trace_id = f"{getrandbits(128):032x}"
    rand = random()
    sampled = "true" if rand < 1.0 else "false"
    html = Markup(
        f'<meta name="sentry-trace" content="{trace_id}-{getrandbits(64):016x}-1">'
        f'<meta name="baggage" content="sentry-trace_id={trace_id}{_FLOOR_HEAD},'
        f'sentry-sample_rand={rand:.6f},sentry-sampled={sampled}">'
    )
    token = _floor_active.set(html)
    _floor_active.reset(token)
    return html


# --- the contenders -----------------------------------------------------------------------
def metatrace_started() -> None:
    with metatrace.trace_scope():
        metatrace.trace_meta()


def metatrace_full() -> None:
    with metatrace.trace_scope(HEADERS):
        metatrace.trace_meta()


def metatrace_quiet() -> None:
    with metatrace.trace_scope(HEADERS):
        pass


def floor_full() -> None:
    floor(HEADERS)


def sentry_setup() -> None:
    import sentry_sdk
    from sentry_sdk.envelope import Envelope
    from sentry_sdk.transport import Transport

    class DropTransport(Transport):
        def capture_envelope(self, envelope: Envelope) -> None:
            pass

    if not sentry_sdk.get_client().is_active():
        # No auto-enabled integrations: they would patch Django for the other benchmarks.
        sentry_sdk.init(
            dsn=DSN,
            transport=DropTransport(),
            traces_sample_rate=1.0,
            auto_enabling_integrations=False,
        )


def sentry_full() -> None:
    import sentry_sdk

    with sentry_sdk.isolation_scope() as scope:
        sentry_sdk.continue_trace(HEADERS)
        scope.trace_propagation_meta()


def sentry_quiet() -> None:
    import sentry_sdk

    with sentry_sdk.isolation_scope():
        sentry_sdk.continue_trace(HEADERS)


def otel_full() -> None:
    propagator = _otel()
    context = propagator.extract(OTEL_HEADERS)
    propagator.inject({}, context=context)


@cache
def _otel() -> CompositePropagator:
    from opentelemetry.baggage.propagation import W3CBaggagePropagator
    from opentelemetry.propagators.composite import CompositePropagator
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    return CompositePropagator([TraceContextTextMapPropagator(), W3CBaggagePropagator()])


def _sanity() -> None:
    """Each contender must do the real thing, or the comparison means nothing."""
    import sentry_sdk

    with metatrace.trace_scope(HEADERS):
        ours = str(metatrace.trace_meta())
    with sentry_sdk.isolation_scope() as scope:
        sentry_sdk.continue_trace(HEADERS)
        theirs = scope.trace_propagation_meta()
    carrier: dict[str, str] = {}
    _otel().inject(carrier, context=_otel().extract(OTEL_HEADERS))
    with metatrace.trace_scope():
        started = str(metatrace.trace_meta())
    for html in (started, str(floor_started())):
        assert "sentry-release=shop%401.4.2" in html and "sentry-sample_rand=0." in html, html
        assert TRACE_ID not in html, html
    for html in (ours, theirs, str(floor(HEADERS))):
        assert TRACE_ID in html and "sentry-release=shop%401.4.2" in html, html
        assert "other-vendor" not in html, html
    assert TRACE_ID in carrier["traceparent"] and "other-vendor" in carrier["baggage"], carrier
    assert metatrace.get_active() is None


def bench_started(rounds: int, seconds: float) -> list[Row]:
    """The common page load: nothing incoming, a key configured; start a trace and render."""
    configure()
    t = compare([metatrace_started, floor_started], rounds, seconds)
    return [timed_row("started vs floor", t.micros[0], t.micros[1], t.ratios[0], 2.0)]


def bench_full(rounds: int, seconds: float) -> list[Row]:
    configure()
    sentry_setup()
    _sanity()
    ops = [metatrace_full, sentry_full, otel_full, floor_full]
    t = compare(ops, rounds, seconds)
    ours, sentry, otel, fl = t.micros
    return [
        timed_row("continued vs sentry-python", ours, sentry, t.ratios[0], 1 / 5),
        timed_row("continued vs OpenTelemetry", ours, otel, t.ratios[1], None),
        timed_row("continued vs floor", ours, fl, t.ratios[2], None),
    ]


def bench_quiet(rounds: int, seconds: float) -> list[Row]:
    configure()
    sentry_setup()
    t = compare([metatrace_quiet, sentry_quiet], rounds, seconds)
    return [
        timed_row("continue only vs sentry-python", t.micros[0], t.micros[1], t.ratios[0], None)
    ]


_CONSTANT = Markup('<meta name="sentry-trace" content="x">')


def constant() -> Markup:
    return _CONSTANT


def bench_repeat(rounds: int, seconds: float) -> list[Row]:
    configure()
    with metatrace.trace_scope(HEADERS):
        metatrace.trace_meta()
        t = compare([metatrace.trace_meta, constant], rounds, seconds)
    return [
        timed_row("repeat trace_meta() vs constant", t.micros[0], t.micros[1], t.ratios[0], None)
    ]


# Hostile header values built from a repeated unit; each is measured at two sizes.
PATHOLOGICAL = {
    "'a' * n": "a",
    "'sentry-' * n": "sentry-",
    "'=' * n": "=",
    "'k=v,' * n": "k=v,",
    "hex-and-dash": "0123456789abcdef-",
    "tabs": "\t",
}


def bench_bounded(rounds: int, seconds: float) -> list[Row]:
    """Work grows at most linearly with input: 8 KB takes at most about 10x what 800 B takes,
    and 1 MB, past every size limit, no more than 8 KB."""
    configure()

    def parse(value: str) -> Callable[[], None]:
        def op() -> None:
            context = metatrace.TraceContext(value, value, value)
            context.meta()
            context.headers()

        return op

    rows = []
    for name, unit in PATHOLOGICAL.items():
        small, medium, large = (unit * (size // len(unit)) for size in (800, 8000, 1_000_000))
        t = compare([parse(medium), parse(small)], max(3, rounds // 3), seconds)
        rows.append(
            timed_row(
                f"bounded: {name}, 8 KB vs 800 B", t.micros[0], t.micros[1], t.ratios[0], 12.0
            )
        )
        t = compare([parse(large), parse(medium)], max(3, rounds // 3), seconds)
        rows.append(
            timed_row(f"bounded: {name}, 1 MB vs 8 KB", t.micros[0], t.micros[1], t.ratios[0], 1.5)
        )
    return rows


def bench_auto(rounds: int, seconds: float) -> list[Row]:
    """The "auto" source when no tracer is loaded costs (next to) nothing over "metatrace"."""
    if "sentry_sdk" in sys.modules or "opentelemetry.trace" in sys.modules:
        raise RuntimeError("bench auto must run before anything imports a tracer")

    def auto() -> None:
        configure("auto")
        metatrace_full()

    def own() -> None:
        configure("metatrace")
        metatrace_full()

    t = compare([auto, own], rounds, seconds)
    return [
        timed_row("full, source auto vs metatrace", t.micros[0], t.micros[1], t.ratios[0], 1.05)
    ]


def _requests(start: int, count: int) -> None:
    """Full requests, each with its own trace id (a cache keyed on input would show)."""
    for i in range(start, start + count):
        trace_id = f"{i:032x}"
        headers = {
            "sentry-trace": f"{trace_id}-{PARENT_SPAN_ID}-1",
            "baggage": f"sentry-trace_id={trace_id},{_BAGGAGE_AFTER_TRACE_ID}",
        }
        with metatrace.trace_scope(headers):
            metatrace.trace_meta()


def _traced_total(snapshot: tracemalloc.Snapshot) -> int:
    return sum(stat.size for stat in snapshot.statistics("filename"))


def bench_memory(requests: int, traced: int) -> list[Row]:
    """Growth after a warm-up: live pymalloc blocks over `requests` requests, then the bytes
    tracemalloc sees over `traced` more (tracing costs ~10x, so it gets fewer requests)."""
    configure()
    warm = max(1000, requests // 20)
    _requests(1, warm)
    gc.collect()
    blocks = sys.getallocatedblocks()
    started = perf_counter()
    _requests(1 + warm, requests)
    elapsed = perf_counter() - started
    gc.collect()
    blocks = sys.getallocatedblocks() - blocks

    ignore = [tracemalloc.Filter(False, tracemalloc.__file__)]
    first = 1 + warm + requests
    tracemalloc.start()
    try:
        _requests(first, warm)
        gc.collect()
        before = tracemalloc.take_snapshot().filter_traces(ignore)
        _requests(first + warm, traced)
        gc.collect()
        after = tracemalloc.take_snapshot().filter_traces(ignore)
    finally:
        tracemalloc.stop()
    growth = _traced_total(after) - _traced_total(before)
    top = "; ".join(
        f"{stat.traceback[0].filename.rsplit('/', 1)[-1]}:{stat.traceback[0].lineno} "
        f"{stat.size_diff:+,} B"
        for stat in after.compare_to(before, "lineno")[:3]
    )
    # Noise: caches and free lists. A leak of one small object per request would be
    # a block per request, and tens of bytes per request.
    block_limit, byte_limit = 1000, 256 * 1024
    return [
        Row(
            f"memory: live blocks, {requests:,} requests",
            f"{blocks:+,} blocks",
            f"≤ {block_limit:,}",
            max(blocks, 0) / block_limit,
            1.0,
            f"{requests / elapsed:,.0f} requests/s untraced ({elapsed:.0f} s)",
        ),
        Row(
            f"memory: tracemalloc, {traced:,} requests",
            f"{growth / 1024:+.1f} KiB",
            f"≤ {byte_limit // 1024} KiB",
            max(growth, 0) / byte_limit,
            1.0,
            f"top growth: {top}",
        ),
    ]
