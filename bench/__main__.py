"""`python -m bench [--quick] [NAME ...]`: run the benchmarks, print a table, write RESULTS.md."""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path

from .harness import Row

# "auto" first: it needs a process in which no tracer has been imported yet.
NAMES = (
    "auto",
    "started",
    "full",
    "quiet",
    "repeat",
    "steps",
    "bounded",
    "django",
    "inside",
    "profile",
    "responses",
    "server",
    "memory",
)
RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
HEADER = ("benchmark", "metatrace µs", "reference µs", "ratio", "target", "result")


def _ratio(value: float) -> str:
    return f"{value:.3f} (1/{1 / value:.1f})" if 0 < value < 1 else f"{value:.3f}"


def _target(value: float | None) -> str:
    if value is None:
        return "—"
    return f"≤ 1/{1 / value:.0f}" if value < 1 else f"≤ {value:.2f}"


def _cells(row: Row) -> tuple[str, ...]:
    verdict = "—" if row.target is None else "PASS" if row.passed else "FAIL"
    return (row.name, row.ours, row.reference, _ratio(row.ratio), _target(row.target), verdict)


def _markdown(rows: list[Row], argv: list[str], elapsed: float) -> str:
    lines = [
        "# metatrace benchmark results",
        "",
        f"`python -m bench {' '.join(argv)}`".replace(" `", "`"),
        f"on Python {platform.python_version()}, {platform.machine()}, "
        f"{os.cpu_count()} CPUs, {time.strftime('%Y-%m-%d')}, {elapsed:.0f} s. "
        "Ratio = metatrace time / reference time, median of interleaved rounds.",
        "",
        "| " + " | ".join(HEADER) + " |",
        "|" + "|".join(["---"] + ["---:"] * 5) + "|",
        *("| " + " | ".join(_cells(row)) + " |" for row in rows),
        "",
        *(f"- {row.name}: {row.note}" for row in rows if row.note),
    ]
    return "\n".join(lines).rstrip() + "\n"


def _print_table(rows: list[Row]) -> None:
    table = [HEADER, *(_cells(row) for row in rows)]
    widths = [max(len(line[i]) for line in table) for i in range(len(HEADER))]
    for index, line in enumerate(table):
        print("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)))
        if index == 0:
            print("  ".join("-" * width for width in widths))
    for row in rows:
        if row.note:
            print(f"  {row.name}: {row.note}")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "names",
        nargs="*",
        choices=[[], *NAMES],
        metavar="NAME",
        help=f"benchmarks to run (default: all): {', '.join(NAMES)}",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="fewer, shorter rounds; skip server and memory unless named",
    )
    parser.add_argument("--rounds", type=int, help="rounds per benchmark (default 21, quick 7)")
    parser.add_argument(
        "--requests",
        type=int,
        default=1_000_000,
        help="requests for the memory benchmark (default 1,000,000)",
    )
    parser.add_argument(
        "--traced",
        type=int,
        default=100_000,
        help="requests under tracemalloc, ~10x slower (default 100,000)",
    )
    parser.add_argument("--server-runs", type=int, default=5)
    parser.add_argument("--server-rounds", type=int, default=8)
    parser.add_argument("--server-seconds", type=float, default=1.0)
    args = parser.parse_args(argv)
    names = args.names or [n for n in NAMES if not (args.quick and n in ("server", "memory"))]
    rounds = args.rounds or (7 if args.quick else 21)
    seconds = 0.02 if args.quick else 0.05

    from . import django_bench, inside, micro, profile, responses, server, steps

    runners: dict[str, Callable[[], list[Row]]] = {
        "auto": lambda: micro.bench_auto(rounds, seconds),
        "started": lambda: micro.bench_started(rounds, seconds),
        "full": lambda: micro.bench_full(rounds, seconds),
        "quiet": lambda: micro.bench_quiet(rounds, seconds),
        "repeat": lambda: micro.bench_repeat(rounds, seconds),
        "steps": lambda: steps.bench_steps(rounds, seconds),
        "bounded": lambda: micro.bench_bounded(rounds, seconds),
        "django": lambda: django_bench.bench_django(rounds, seconds * 2),
        "inside": lambda: inside.bench_inside(rounds),
        "profile": profile.bench_profile,
        "responses": lambda: responses.bench_responses(rounds, seconds),
        "server": lambda: server.bench_server(
            args.server_runs, args.server_rounds, args.server_seconds
        ),
        "memory": lambda: micro.bench_memory(args.requests, min(args.traced, args.requests)),
    }
    started = time.perf_counter()
    rows: list[Row] = []
    for name in NAMES:
        if name in names:
            print(f"running {name} ...", file=sys.stderr, flush=True)
            rows += runners[name]()
    elapsed = time.perf_counter() - started
    _print_table(rows)
    RESULTS.write_text(_markdown(rows, argv, elapsed), encoding="utf-8")
    print(f"wrote {RESULTS}", file=sys.stderr)
    return 0 if all(row.passed for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
