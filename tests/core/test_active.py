"""metatrace/_core/active.py: trace_scope() and the active trace, kept apart per asyncio task."""

from __future__ import annotations

import asyncio

import pytest

import metatrace
from tests.conftest import INCOMING_SPAN, INCOMING_TRACE, SENTRY_TRACE, parse_trace_meta


def test_trace_scope_restores_the_previous_context() -> None:
    outer = metatrace.continue_trace({})
    with metatrace.trace_scope({"sentry-trace": SENTRY_TRACE}) as inner:
        assert metatrace.get_active() is inner
        assert inner.trace_id == INCOMING_TRACE
    assert metatrace.get_active() is outer


def test_trace_scope_restores_on_error() -> None:
    with pytest.raises(RuntimeError), metatrace.trace_scope({"sentry-trace": SENTRY_TRACE}):
        raise RuntimeError
    assert metatrace.get_active() is None


def test_a_scope_is_entered_once() -> None:
    scope = metatrace.trace_scope({})
    with scope, pytest.raises(RuntimeError, match="can be entered only once"), scope:
        pass


def test_a_scope_entered_twice_says_so() -> None:
    scope = metatrace.trace_scope({})
    with scope, pytest.raises(RuntimeError) as raised:
        scope.__enter__()
    assert str(raised.value) == "metatrace: a trace_scope() can be entered only once"


def test_a_scope_closed_without_being_entered_changes_nothing() -> None:
    before = metatrace.get_active()
    with metatrace.trace_scope({"sentry-trace": SENTRY_TRACE}) as outer:
        inner = metatrace.trace_scope({})
        inner.__exit__(None, None, None)
        assert metatrace.get_active() is outer
    assert metatrace.get_active() is before


async def _task(trace_id: str) -> str:
    with metatrace.trace_scope({"sentry-trace": f"{trace_id}-{INCOMING_SPAN}-1"}):
        await asyncio.sleep(0.01)
        return parse_trace_meta(metatrace.trace_meta())["sentry-trace"][:32]


@pytest.mark.asyncio
async def test_asyncio_tasks_are_isolated() -> None:
    metatrace.configure(public_key="abc")
    ids = [f"{i:032x}" for i in range(1, 51)]
    assert await asyncio.gather(*(_task(trace_id) for trace_id in ids)) == ids
    assert metatrace.get_active() is None
