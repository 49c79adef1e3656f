"""metatrace/_core/extras.py: an integration imported without its framework names the extra."""

from __future__ import annotations

import pytest

from tests.conftest import run_python

# A fresh interpreter in which the named top-level packages are missing.
WITHOUT = """
import importlib.abc, sys

class Missing(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.partition(".")[0] in {missing!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None

sys.meta_path.insert(0, Missing())
try:
    import {integration}
except ImportError as error:
    print(type(error).__name__, error, sep=": ")
"""


@pytest.mark.parametrize(
    "integration, missing, extra, package",
    [
        ("metatrace.middleware", ("django", "asgiref"), "django", "asgiref"),
        ("metatrace.middleware", ("django",), "django", "django"),
        ("metatrace.jinja", ("jinja2",), "jinja", "jinja2"),
        ("metatrace.celery", ("celery",), "celery", "celery"),
        ("metatrace.requests", ("requests",), "requests", "requests"),
    ],
)
def test_an_integration_without_its_framework_names_the_extra(
    integration: str, missing: tuple[str, ...], extra: str, package: str
) -> None:
    result = run_python(WITHOUT.format(missing=missing, integration=integration))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        f"ImportError: {integration} needs the {extra} extra ({package} is not installed): "
        f"pip install 'metatrace-html[{extra}]'"
    )


def test_another_missing_module_is_reported_as_it_is() -> None:
    # requests itself is installed; one of its own dependencies is not: not the extra's fault.
    result = run_python(WITHOUT.format(missing=("idna",), integration="metatrace.requests"))
    assert result.stdout.strip() == "ModuleNotFoundError: No module named 'idna'"


def test_the_core_needs_no_extra() -> None:
    frameworks = ("django", "jinja2", "celery", "requests")
    code = WITHOUT.format(missing=frameworks, integration="metatrace")
    result = run_python(code + "\nprint(metatrace.trace_meta() == '')")
    assert result.stdout.strip() == "True"
