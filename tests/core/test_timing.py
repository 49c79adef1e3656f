"""metatrace/_core/timing.py: Server-Timing read as browsers read it, and its quoted-strings."""

from __future__ import annotations

import pytest

import tests.timing_reader
from metatrace._core.timing import parse_server_timing, quoted_string


@pytest.mark.parametrize(
    "values, metrics, malformed",
    [
        ([], [], 0),
        (["total;dur=12"], [("total", {"dur": "12"})], 0),
        (['a;desc="x, y"', "b"], [("a", {"desc": "x, y"}), ("b", {})], 0),
        (['a;desc="say \\"hi\\" \\\\o/"'], [("a", {"desc": 'say "hi" \\o/'})], 0),
        (['a;desc="\\a\\b\\c"'], [("a", {"desc": "abc"})], 0),
        (["a ; DESC = tok ; desc=second"], [("a", {"desc": "tok"})], 0),
        (['a;desc="unterminated, b;dur=1'], [], 1),
        (["(bad);dur=1, good"], [("good", {})], 1),
        (['a;desc="x"y, b'], [("b", {})], 1),
        (["  ,, a ,"], [("a", {})], 0),
        (["a;desc;dur=1"], [("a", {"desc": "", "dur": "1"})], 0),  # a name alone: empty
        (["(bad), [worse]", "good, {worst}"], [("good", {})], 3),  # each one counted
    ],
)
def test_server_timing_parsing(
    values: list[str], metrics: list[tuple[str, dict[str, str]]], malformed: int
) -> None:
    parsed, skipped = parse_server_timing(values)
    assert [(metric.name, metric.params) for metric in parsed] == metrics
    assert skipped == malformed


@pytest.mark.parametrize(
    "value, quoted",
    [
        ("abc-123", '"abc-123"'),
        ('say "hi"', '"say \\"hi\\""'),
        ("back\\slash", '"back\\\\slash"'),
        ('\\"', '"\\\\\\""'),
        ("a, b; c=d", '"a, b; c=d"'),
    ],
)
def test_values_are_quoted_strings(value: str, quoted: str) -> None:
    assert quoted_string(value) == quoted
    assert tests.timing_reader.parse_server_timing(f"x;desc={quoted}") == [("x", {"desc": value})]
