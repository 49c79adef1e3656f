"""Where the Django page's extra time goes: our middleware's own time inside real requests.

The page rows compare whole requests. This times the parts of our middleware while Django
serves the page (the view's time subtracted), so that they can be set beside the same work
timed warm in a loop (`responses`, `steps`): inside a request, between Django's own code, the
same calls run cold and cost more.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

from metatrace import middleware

from .django_bench import _UNTAGGED_PATHS, _client, setup_django
from .harness import Row


def _timer(target: Callable[..., Any], total: list[int]) -> Callable[..., Any]:
    def timed(*args: Any) -> Any:
        start = time.perf_counter_ns()
        try:
            return target(*args)
        finally:
            total[0] += time.perf_counter_ns() - start

    return timed


def bench_inside(rounds: int, requests: int = 2000) -> list[Row]:
    traced, _, _ = setup_django()
    request = _client(traced, _UNTAGGED_PATHS[0], False)  # a started trace, no stale tags
    call, view, carry = [0], [0], [0]
    saved = middleware.TraceMiddleware.__call__, middleware._carry_trace
    original_call = saved[0]

    def timed_call(self: middleware.TraceMiddleware, request: Any) -> Any:
        inner = self.get_response
        self.get_response = _timer(inner, view)
        try:
            return _timer(original_call, call)(self, request)
        finally:
            self.get_response = inner

    middleware.TraceMiddleware.__call__ = timed_call  # type: ignore[method-assign]
    middleware._carry_trace = _timer(saved[1], carry)
    try:
        for _ in range(requests // 4):
            request()
        samples = []
        for _ in range(rounds):
            call[0] = view[0] = carry[0] = 0
            start = time.perf_counter_ns()
            for _ in range(requests):
                request()
            elapsed = time.perf_counter_ns() - start
            # _respond calls the view (timed as `view`), then the response side (`carry`).
            samples.append(
                (elapsed / requests, (call[0] - view[0]) / requests, carry[0] / requests)
            )
    finally:
        middleware.TraceMiddleware.__call__, middleware._carry_trace = saved  # type: ignore[method-assign]
    whole, ours, response = (statistics.median(s[i] for s in samples) / 1000 for i in range(3))
    return [
        Row(
            "Django page, our middleware's own time inside the request (started trace)",
            f"{ours:.2f}",
            f"{whole:.2f}",
            ours / whole,
            None,
            "µs inside Django's request, outside the view, vs the whole request",
        ),
        Row(
            "… of which the response side (Server-Timing, the head check, the trace's start)",
            f"{response:.2f}",
            f"{whole:.2f}",
            response / whole,
            None,
        ),
    ]
