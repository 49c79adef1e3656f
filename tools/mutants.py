"""Module-level mutants: the limits and regexes that mutmut leaves alone.

mutmut 3 mutates code inside functions only; the limits (`BAGGAGE_MAX_BYTES = 8192`) and the
compiled regexes of the wire formats are module-level constants. This script makes those
mutants itself, one at a time, in a scratch copy of the project:

- every integer in a module-level assignment, plus and minus one;
- every element of a module-level tuple, set, frozenset or dict display, dropped;
- in every module-level raw string (the regexes): each counted repeat `{n}` plus and minus
  one, `*` and `+` swapped, an optional `?` dropped, a class negation `^` dropped, each
  element of a character class dropped, and each end of a class range moved inwards by one.

For each mutant it runs the tests that cover the module (`TESTS` below; the whole non-browser
suite for a module not listed) and records killed (a test failed) or survived. Survivors that
are known to be equivalent are listed in tools/equivalent.py, with the reason, and counted apart.

    python tools/mutants.py metatrace/_core/carriers.py      # print a table, exit 1 on survivors
    python tools/mutants.py --json out.json metatrace/_core/*.py  # also write the results

The project itself is never modified: each mutant is written into a temporary copy.
"""

from __future__ import annotations

import argparse
import ast
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tokenize
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COPY = ("metatrace", "tests", "sample_site", "docs", "README.md", "pyproject.toml")
PYTEST = [
    "-m",
    "pytest",
    "--ds=tests.settings",
    "-x",
    "-q",
    "-m",
    "not browser",
    "-p",
    "no:cacheprovider",
    "--no-header",
]
# The suites that try the wire formats from every side.
_SUITES = [
    "tests/test_boundaries.py",
    "tests/test_properties.py",
    "tests/test_grammar.py",
]
_CORE = [
    "tests/core/test_formats.py",
    "tests/core/test_timing.py",
    "tests/core/test_carriers.py",
    "tests/core/test_head.py",
    "tests/core/test_context.py",
    "tests/test_metatrace.py",
    "tests/pages/test_templating.py",
    *_SUITES,
]
# Module -> the tests that cover it (each mutant runs only these, stopping at the first failure):
# its own file (tests named after the module), and what else exercises it.
TESTS: dict[str, list[str]] = {
    "metatrace/_core/formats.py": _CORE,
    "metatrace/_core/timing.py": _CORE,
    "metatrace/_core/head.py": _CORE,
    "metatrace/_core/context.py": _CORE,
    "metatrace/_core/active.py": _CORE,
    "metatrace/_core/carriers.py": [
        "tests/core/test_carriers.py",
        "tests/core/test_context.py",
        "tests/test_metatrace.py",
        "tests/test_wsgi.py",
        "tests/test_asgi.py",
        "tests/test_celery.py",
    ],
    "metatrace/_pages/caching.py": [
        "tests/pages/test_caching.py",
        "tests/pages/test_responses.py",
        "tests/test_wsgi.py",
        "tests/test_asgi.py",
    ],
    "metatrace/_core/config.py": [
        "tests/core/test_config.py",
        "tests/core/test_context.py",
        "tests/test_metatrace.py",
    ],
    "metatrace/_pages/responses.py": [
        "tests/pages/test_responses.py",
        "tests/pages/test_caching.py",
        "tests/core/test_timing.py",
        "tests/test_wsgi.py",
        "tests/test_asgi.py",
    ],
}

sys.path.insert(0, str(Path(__file__).resolve().parent))
from equivalent import EQUIVALENT  # noqa: E402  (a sibling module: tools/ is no package)


@dataclass
class Mutant:
    module: str
    line: int
    description: str
    source: str  # the whole mutated module
    status: str = "pending"  # killed, survived, equivalent
    seconds: float = 0.0
    reason: str = ""


# Making mutants --------------------------------------------------------------------------------


def mutants_of(module: str) -> Iterator[Mutant]:
    text = (ROOT / module).read_text(encoding="utf-8")
    tree = ast.parse(text)
    lines = text.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))

    def position(line: int, column: int) -> int:
        # ast columns count UTF-8 bytes; our modules' module-level code is ASCII.
        return offsets[line - 1] + column

    def replaced(start: int, end: int, new: str) -> str:
        return text[:start] + new + text[end:]

    module_level = [node for node in tree.body if isinstance(node, ast.Assign | ast.AnnAssign)]
    for statement in module_level:
        value = statement.value
        if value is None or isinstance(value, ast.Subscript):  # None, or a type alias
            continue
        # The collection displays whose elements are dropped: the value itself, or the
        # argument of a frozenset(...) or set(...) call.
        displays = [value, *(value.args[:1] if isinstance(value, ast.Call) else [])]
        for node in ast.walk(value):
            if (
                isinstance(node, ast.Constant)
                and type(node.value) is int
                and node.end_col_offset is not None
            ):
                start = position(node.lineno, node.col_offset)
                end = position(node.end_lineno or node.lineno, node.end_col_offset)
                for delta in (-1, 1):
                    new = str(node.value + delta)
                    yield Mutant(
                        module,
                        node.lineno,
                        f"{_target(statement)}: {node.value} -> {new} at {node.col_offset}",
                        replaced(start, end, new),
                    )
            elements: list[ast.expr] = []
            if isinstance(node, ast.Tuple | ast.Set | ast.List):
                elements = list(node.elts)
            elif isinstance(node, ast.Dict):
                elements = [key for key in node.keys if key is not None]
            if len(elements) > 1 and any(node is display for display in displays):
                for index, element in enumerate(elements):
                    mutant = _drop_element(module, text, node, index, element, position)
                    mutant.description = f"{_target(statement)}: {mutant.description}"
                    yield mutant
    yield from _regex_mutants(module, text, tree)


def _drop_element(
    module: str, text: str, node: ast.AST, index: int, element: ast.expr, position: object
) -> Mutant:
    """The collection display with one element (for a dict, one key and its value) removed."""
    pos = position  # typed loosely: a closure over the module's line offsets
    assert callable(pos)
    if isinstance(node, ast.Dict):
        value = node.values[index]
        start = pos(element.lineno, element.col_offset)
        end = pos(value.end_lineno, value.end_col_offset)
    else:
        start = pos(element.lineno, element.col_offset)
        end = pos(element.end_lineno, element.end_col_offset)
    # Swallow the comma after the element, so that the display stays valid.
    after = re.match(r"\s*,", text[end:])
    if after:
        end += after.end()
    label = ast.get_source_segment(text, element) or "?"
    return Mutant(module, element.lineno, f"drop {label}", text[:start] + text[end:])


_STRING_PREFIX = re.compile(r"([A-Za-z]*)(\"\"\"|'''|\"|')")


def _regex_mutants(module: str, text: str, tree: ast.Module) -> Iterator[Mutant]:
    """Mutants of every raw string literal outside functions and classes: the regexes."""
    inside: list[tuple[int, int]] = [
        (node.lineno, node.end_lineno or node.lineno)
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
    ]
    lines = text.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))
    names = {
        row: _target(node)
        for node in tree.body
        if isinstance(node, ast.Assign | ast.AnnAssign)
        for row in range(node.lineno, (node.end_lineno or node.lineno) + 1)
    }
    for token in tokenize.generate_tokens(io.StringIO(text).readline):
        if token.type != tokenize.STRING:
            continue
        (row, column), (end_row, end_column) = token.start, token.end
        if any(first <= row <= last for first, last in inside):
            continue
        match = _STRING_PREFIX.match(token.string)
        if match is None or "r" not in match.group(1).lower():
            continue
        quote = match.group(2)
        body_start = offsets[row - 1] + column + match.end()
        body_end = offsets[end_row - 1] + end_column - len(quote)
        body = text[body_start:body_end]
        formatted = "f" in match.group(1).lower()
        for start, end, new, description in regex_edits(body, formatted):
            mutated = text[: body_start + start] + new + text[body_start + end :]
            yield Mutant(module, row, f"{names.get(row, '?')}: {description}", mutated)


def _target(node: ast.Assign | ast.AnnAssign) -> str:
    target = node.targets[0] if isinstance(node, ast.Assign) else node.target
    return target.id if isinstance(target, ast.Name) else "?"


def regex_edits(pattern: str, formatted: bool = False) -> Iterator[tuple[int, int, str, str]]:
    """Edits (start, end, replacement, description) of a regex source, one mutant each.

    In an f-string, `{name}` is an interpolation and is skipped; `{{` and `}}` are braces.
    """
    i = 0
    n = len(pattern)
    while i < n:
        char = pattern[i]
        if char == "\\":
            i += 2
            continue
        if formatted and char == "{" and not pattern.startswith("{{", i):
            i = pattern.index("}", i) + 1  # an interpolation, not regex syntax
            continue
        if char == "[":
            end = _class_end(pattern, i)
            yield from _class_edits(pattern, i, end)
            i = end + 1
            continue
        counted = re.match(
            r"\{\{?(\d+)(?:,(\d+))?\}\}?" if formatted else r"\{(\d+)(?:,(\d+))?\}", pattern[i:]
        )
        if counted:
            for group in (1, 2):
                if counted.group(group) is None:
                    continue
                start, end = i + counted.start(group), i + counted.end(group)
                value = int(counted.group(group))
                for delta in (-1, 1):
                    if value + delta >= 0:
                        yield (
                            start,
                            end,
                            str(value + delta),
                            f"{{{value}}} -> {{{value + delta}}} at {i}",
                        )
            i += counted.end()
            continue
        previous = pattern[i - 1] if i else ""
        if char in "*+" and previous not in "*+?":  # a repeat, not a possessive marker
            other = "+" if char == "*" else "*"
            yield i, i + 1, other, f"{char} -> {other} at {i}"
        elif char == "?" and previous not in "(*+?}":
            yield i, i + 1, "", f"drop ? at {i}"
        i += 1


def _class_end(pattern: str, start: int) -> int:
    i = start + 1
    if pattern.startswith("^", i):
        i += 1
    if pattern.startswith("]", i):
        i += 1
    while pattern[i] != "]":
        i += 2 if pattern[i] == "\\" else 1
    return i


def _class_edits(pattern: str, start: int, end: int) -> Iterator[tuple[int, int, str, str]]:
    i = start + 1
    if pattern[i] == "^":
        yield i, i + 1, "", f"drop ^ at {i}"
        i += 1
    elements: list[tuple[int, int]] = []
    while i < end:
        size = 2 if pattern[i] == "\\" else 1
        if pattern.startswith("\\x", i):
            size = 4
        elements.append((i, i + size))
        i += size
    # Join `a`, `-`, `b` into a range element.
    joined: list[tuple[int, int, bool]] = []
    k = 0
    while k < len(elements):
        if k + 2 < len(elements) and pattern[elements[k + 1][0] : elements[k + 1][1]] == "-":
            joined.append((elements[k][0], elements[k + 2][1], True))
            k += 3
        else:
            joined.append((*elements[k], False))
            k += 1
    if len(joined) < 2:
        return
    for first, last, is_range in joined:
        text = pattern[first:last]
        yield first, last, "", f"drop {text} from class at {first}"
        if is_range:
            low, high = _range_ends(text)
            if low is not None and high is not None and high - low >= 2:
                yield (
                    first,
                    last,
                    f"{_char(low + 1)}-{_char(high)}",
                    f"{text} -> low end + 1 at {first}",
                )
                yield (
                    first,
                    last,
                    f"{_char(low)}-{_char(high - 1)}",
                    f"{text} -> high end - 1 at {first}",
                )


def _range_ends(text: str) -> tuple[int | None, int | None]:
    match = re.fullmatch(r"(\\x[0-9a-fA-F]{2}|\\?.)-(\\x[0-9a-fA-F]{2}|\\?.)", text)
    if match is None:
        return None, None
    return _code(match.group(1)), _code(match.group(2))


def _code(part: str) -> int:
    if part.startswith("\\x"):
        return int(part[2:], 16)
    return ord(part[-1])


def _char(code: int) -> str:
    char = chr(code)
    return char if char.isalnum() else f"\\x{code:02x}"


# Running them ---------------------------------------------------------------------------------


def run(mutants: list[Mutant], workdir: Path, tests: list[str] | None = None) -> None:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    # The tests must pass on the unmutated copy, or every mutant would look killed.
    for module in sorted({mutant.module for mutant in mutants}):
        selection = tests or TESTS.get(module, ["tests"])
        baseline = subprocess.run(
            [sys.executable, *PYTEST, *selection],
            cwd=workdir,
            env=env,
            capture_output=True,
            text=True,
        )
        if baseline.returncode != 0:
            sys.exit(f"the tests fail without any mutant ({module}):\n{baseline.stdout[-3000:]}")
    for index, mutant in enumerate(mutants, 1):
        known = EQUIVALENT.get(f"{mutant.module}: {mutant.description}")
        target = workdir / mutant.module
        original = target.read_text(encoding="utf-8")
        target.write_text(mutant.source, encoding="utf-8")
        started = time.monotonic()
        try:
            result = subprocess.run(
                [sys.executable, *PYTEST, *(tests or TESTS.get(mutant.module, ["tests"]))],
                cwd=workdir,
                env=env,
                capture_output=True,
                text=True,
                timeout=600,
            )
            failed = result.returncode != 0
        except subprocess.TimeoutExpired:
            failed = True  # a hang counts as detected, as in mutmut
        finally:
            target.write_text(original, encoding="utf-8")
        mutant.seconds = round(time.monotonic() - started, 1)
        if failed:
            mutant.status = "killed"
        elif known:
            mutant.status, mutant.reason = "equivalent", known
        else:
            mutant.status = "survived"
        print(
            f"[{index}/{len(mutants)}] {mutant.status:10} {mutant.module}:{mutant.line} "
            f"{mutant.description} ({mutant.seconds}s)",
            flush=True,
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "modules", nargs="+", help="modules to mutate, e.g. metatrace/_core/formats.py"
    )
    parser.add_argument("--json", type=Path, help="write the results to this file")
    parser.add_argument("--list", action="store_true", help="only list the mutants")
    parser.add_argument("--match", default="", help="only mutants whose description has this")
    parser.add_argument("--tests", nargs="*", help="run these tests instead of TESTS[module]")
    parser.add_argument(
        "--shard", default="0/1", help="K/N: only every Nth mutant from the Kth (one per core)"
    )
    arguments = parser.parse_args()
    mutants = [
        mutant
        for module in arguments.modules
        for mutant in mutants_of(module)
        if arguments.match in mutant.description
    ]
    index, _, count = arguments.shard.partition("/")
    mutants = mutants[int(index) :: int(count)]  # one of several processes run side by side
    for mutant in mutants:
        compile(mutant.source, mutant.module, "exec")  # a mutant must still be valid Python
    if arguments.list:
        for mutant in mutants:
            print(f"{mutant.module}:{mutant.line} {mutant.description}")
        return 0
    with tempfile.TemporaryDirectory(prefix="metatrace-mutants-") as scratch:
        workdir = Path(scratch)
        for name in COPY:
            source = ROOT / name
            if source.is_dir():
                shutil.copytree(
                    source, workdir / name, ignore=shutil.ignore_patterns("__pycache__")
                )
            elif source.exists():
                shutil.copy2(source, workdir / name)
        run(mutants, workdir, arguments.tests)
    counts = {
        status: sum(m.status == status for m in mutants)
        for status in ("killed", "survived", "equivalent")
    }
    print(json.dumps(counts))
    if arguments.json:
        arguments.json.write_text(
            json.dumps(
                {
                    "modules": arguments.modules,
                    "match": arguments.match,  # a partial run when not empty
                    "finished": f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
                    "counts": counts,
                    "mutants": [
                        {k: v for k, v in asdict(m).items() if k != "source"} for m in mutants
                    ],
                },
                indent=1,
            ),
            encoding="utf-8",
        )
    return 1 if counts["survived"] else 0


if __name__ == "__main__":
    sys.exit(main())
