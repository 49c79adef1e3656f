"""The package's layers (docs/maintainers/design.md): what may import what, read from every
module's imports. No module imports a layer above its own, nothing forms a circle, the core
imports no framework, and nothing is imported while a request runs."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from tests.conftest import run_python

PACKAGE = Path(__file__).resolve().parents[1] / "metatrace"
# The layers, from the bottom: a module may import its own layer and those below.
CORE, SOURCES, PAGES, FACE, ADAPTERS = range(5)
# Within the core, the order of its modules: each imports only those before it.
CORE_ORDER = [
    "names", "formats", "timing", "carriers", "extras", "config", "head", "withheld", "context",
    "active",
]  # fmt: skip
# What the core, the sources and the pages may import besides the standard library.
ALLOWED_THIRD_PARTY = {"markupsafe"}
# The imports inside functions, each run at start-up or once, never per request: where, and why.
DEFERRED = {
    ("apps", "ready"): "the app's checks and settings, when Django sets the app up",
    ("checks", "check_source"): "sentry-sdk, when manage.py check runs with SOURCE sentry_sdk",
    ("middleware", "_continued_by_otel"): "OpenTelemetry's propagators, once, if it is the source",
}


def _name(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(part for part in parts if part != "__init__")


MODULES = {_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def layer(module: str) -> int:
    top = module.partition(".")[0]
    return {"_core": CORE, "_sources": SOURCES, "_pages": PAGES, "": FACE}.get(top, ADAPTERS)


def _resolve(module: str, node: ast.ImportFrom) -> list[str]:
    """The modules of metatrace that `from ... import ...` in `module` names."""
    if node.level == 0:
        if not (node.module or "").startswith("metatrace"):
            return []
        base = (node.module or "").removeprefix("metatrace").lstrip(".")
    else:
        package = (
            module.split(".") if MODULES[module].name == "__init__.py" else module.split(".")[:-1]
        )
        package = [part for part in package if part]
        base = ".".join(
            [*package[: len(package) - node.level + 1], *([node.module] if node.module else [])]
        )
    found = []
    for alias in node.names:
        candidate = f"{base}.{alias.name}".strip(".")
        found.append(candidate if candidate in MODULES else base)
    return found


def imports(module: str, top_level_only: bool = False) -> set[str]:
    """The metatrace modules that `module` imports (at its top level only, if asked)."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    found: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.ImportFrom):
            found.update(_resolve(module, node))
        elif isinstance(node, ast.Import):
            found.update(
                alias.name.removeprefix("metatrace.")
                for alias in node.names
                if alias.name.startswith("metatrace.")
            )
    return {name for name in found if name in MODULES and name != module}


def _third_party(module: str) -> set[str]:
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in tree.body:  # what the module needs to be imported at all
        if isinstance(node, ast.Import):
            names.update(alias.name.partition(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.partition(".")[0])
    return {name for name in names if name not in sys.stdlib_module_names} - {
        "metatrace",
        "__future__",
    }


@pytest.mark.parametrize("module", MODULES)
def test_no_module_imports_a_layer_above_its_own(module: str) -> None:
    above = [name for name in imports(module) if layer(name) > layer(module)]
    assert above == [], f"metatrace.{module} imports {above} from above"


@pytest.mark.parametrize("module", [m for m in MODULES if layer(m) == ADAPTERS])
def test_adapters_need_not_the_public_face(module: str) -> None:
    # The face re-exports; the adapters take what they use from below it, so that the face
    # can import nothing of theirs.
    assert "" not in imports(module)


@pytest.mark.parametrize("module", [m for m in MODULES if m.startswith("_core.")])
def test_the_core_imports_in_its_order(module: str) -> None:
    position = CORE_ORDER.index(module.removeprefix("_core."))
    later = [
        name
        for name in imports(module, top_level_only=True)
        if name.startswith("_core.") and CORE_ORDER.index(name.removeprefix("_core.")) > position
    ]
    assert later == []


@pytest.mark.parametrize("module", [m for m in MODULES if layer(m) < FACE])
def test_the_core_sources_and_pages_import_no_framework(module: str) -> None:
    assert _third_party(module) <= ALLOWED_THIRD_PARTY


@pytest.mark.parametrize("module", [m for m in MODULES if m.startswith("checker")])
def test_the_checker_needs_no_framework_and_only_the_core(module: str) -> None:
    assert _third_party(module) == set()
    assert {name for name in imports(module) if layer(name) != ADAPTERS} <= {
        name for name in MODULES if name.startswith("_core.") or name == "_pages.caching"
    }


def test_no_circle() -> None:
    graph = {module: imports(module, top_level_only=True) for module in MODULES}
    state: dict[str, int] = {}  # 1: on the path, 2: done

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for name in graph[module]:
            if state.get(name) == 1:
                raise AssertionError("an import circle: " + " -> ".join([*path, module, name]))
            if name not in state:
                visit(name, [*path, module])
        state[module] = 2

    for module in graph:
        if module not in state:
            visit(module, [])


def test_nothing_is_imported_while_a_request_runs() -> None:
    found = set()
    for module, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            imported = any(
                isinstance(inner, ast.Import | ast.ImportFrom) for inner in ast.walk(node)
            )
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and imported:
                found.add((module, node.name))
    assert found == set(DEFERRED)


def test_import_metatrace_loads_no_framework_nor_html_parser() -> None:
    code = (
        "import sys, metatrace\n"
        "print(sorted(m for m in sys.modules if m == 'html.parser' or m.split('.')[0] in "
        "('django', 'jinja2', 'sentry_sdk', 'opentelemetry', 'ddtrace', 'elasticapm')))"
    )
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
