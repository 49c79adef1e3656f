"""Where a page's extra time goes, counted rather than timed: the bytecodes each function runs
for one request (sys.settrace with opcode events), the same on a quiet machine and a busy one.

Each page is set against the constant page (no middleware, the tags as a constant), so the
count is what our middleware and tag add; the hand-inlined floor (bench/floor.py, every
guarantee kept) is counted alike. The per-function counts of our code go in the row's note.
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

import metatrace

from .django_bench import _client, guaranteed_handler, setup_django
from .harness import Row


def _bytecodes(request: Callable[[], bytes]) -> Counter[str]:
    """Bytecodes run by one call of `request`, per function (file:name)."""
    for _ in range(50):  # warm: caches filled, templates compiled
        request()
    counts: Counter[str] = Counter()

    def trace(frame: FrameType, event: str, arg: Any) -> Any:
        frame.f_trace_opcodes = True
        if event == "opcode":
            code = frame.f_code
            counts[f"{code.co_filename}:{code.co_name}"] += 1
        return trace

    sys.settrace(trace)
    try:
        request()
    finally:
        sys.settrace(None)
    return counts


def bench_profile() -> list[Row]:
    traced, plain, _ = setup_django()
    by_hand = guaranteed_handler()
    rows = []
    for label, engine in (("Django", "dj"), ("Jinja2", "jinja")):
        base = _bytecodes(_client(plain, f"/{engine}/constant/", False))
        floor = _bytecodes(_client(by_hand, f"/{engine}/guaranteed/", False))
        for kind, continued in (("started", False), ("continued", True)):
            reference = (
                base if not continued else _bytecodes(_client(plain, f"/{engine}/constant/", True))
            )
            ours = _bytecodes(_client(traced, f"/{engine}/trace/", continued))
            added = sum(ours.values()) - sum(reference.values())
            floor_added = sum(floor.values()) - sum(base.values())
            top = sorted(
                (
                    (name.split(_PACKAGE, 1)[1], count)
                    for name, count in ours.items()
                    if _PACKAGE in name
                ),
                key=lambda item: -item[1],
            )[:8]
            rows.append(
                Row(
                    f"{label} page, {kind} trace: bytecodes added per request, vs the "
                    "hand-inlined floor's (started)",
                    f"{added:,}",
                    f"{floor_added:,}",
                    added / floor_added,
                    None,
                    "ours, most first: " + ", ".join(f"{name} {count}" for name, count in top),
                )
            )
    return rows


# Our code, as _bytecodes names it: the metatrace package's folder.
_PACKAGE = str(Path(metatrace.__file__).parent) + "/"
