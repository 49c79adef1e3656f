"""Interleaved timing and the result rows."""

from __future__ import annotations

import gc
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import repeat
from time import perf_counter_ns

Op = Callable[[], object]


@dataclass(frozen=True)
class Row:
    name: str
    ours: str  # absolute figure for metatrace (µs per op unless noted)
    reference: str
    ratio: float  # metatrace / reference, in time: lower is better
    target: float | None  # the highest passing ratio; None for a row shown for information
    note: str = ""

    @property
    def passed(self) -> bool:
        return self.target is None or self.ratio <= self.target


def timed_row(name: str, ours: float, reference: float, ratio: float, target: float | None) -> Row:
    return Row(name, f"{ours:.2f}", f"{reference:.2f}", ratio, target)


def batch(op: Op, n: int) -> float:
    """Microseconds per call of `op`, over `n` calls."""
    gc.collect()
    loop = repeat(None, n)
    start = perf_counter_ns()
    for _ in loop:
        op()
    return (perf_counter_ns() - start) / n / 1000


def calibrate(op: Op, seconds: float) -> int:
    """How many calls of `op` take about `seconds` (also serves as warm-up)."""
    n = 10
    while (elapsed := batch(op, n) * n / 1e6) < seconds / 4:
        n *= 4
    return max(1, round(n * seconds / elapsed))


@dataclass(frozen=True)
class Timing:
    micros: list[float]  # median µs per op, per contender
    ratios: list[float]  # median over rounds of contender 0 / contender i, for i >= 1


def compare(ops: Sequence[Op], rounds: int, seconds: float) -> Timing:
    """Run the contenders in alternating order (A B C, C B A, ...), one batch each per round."""
    sizes = [calibrate(op, seconds) for op in ops]
    samples: list[list[float]] = [[] for _ in ops]
    for round_ in range(rounds):
        order = range(len(ops)) if round_ % 2 == 0 else reversed(range(len(ops)))
        for i in order:
            samples[i].append(batch(ops[i], sizes[i]))
    return Timing(
        [statistics.median(s) for s in samples],
        [statistics.median(a / b for a, b in zip(samples[0], s, strict=True)) for s in samples[1:]],
    )
