"""The version matrix's data, read by noxfile.py and by tests/test_matrix.py (which checks that
the classifiers say what it tests): the sessions, the oldest releases the extras allow, and the
suite each session runs."""

from __future__ import annotations

import glob
import os
import re
import shutil
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]

# (Python, Django, releases of the rest): "oldest" installs every runtime dependency at the lower
# bound its extra names, "newest" the newest that installs. Python 3.11 with Django 5.2 and the
# newest releases is .venv's: the whole suite runs there. Django 4.2 supports Python up to 3.12,
# Django 6 from 3.12 on.
MATRIX = [
    ("3.11", "4.2", "oldest"),
    ("3.12", "4.2", "newest"),
    ("3.12", "5.2", "newest"),
    ("3.12", "6.1", "newest"),
    ("3.13", "5.2", "newest"),
    ("3.13", "6.1", "newest"),
]
# The extras whose lower bounds the "oldest" sessions install, and the test extra's tracers.
RUNTIME_EXTRAS = ("django", "jinja", "celery", "requests", "httpx", "flask", "starlette")
OLDEST_TRACERS = ("sentry-sdk", "opentelemetry-api", "opentelemetry-sdk", "ddtrace", "elastic-apm")
PYTEST = [
    "pytest",
    "--ds=tests.settings",
    "-m",
    "not browser",
    "--ignore=tests/browser",
    "--ignore=tests/test_realworld.py",
    "--ignore=tests/test_wheel.py",  # the package, built and installed: .venv's run checks it
    "-p",
    "no:cacheprovider",
    "-q",
]


def interpreter(version: str) -> str:
    """The interpreter for `version`: on PATH, or installed by pyenv (whose shims answer only
    for the selected version)."""
    found = shutil.which(f"python{version}")
    pyenv = sorted(glob.glob(os.path.expanduser(f"~/.pyenv/versions/{version}.*/bin/python3")))
    return pyenv[-1] if pyenv else found or f"python{version}"


def lower_bounds(requirements: list[str], names: tuple[str, ...] | None = None) -> list[str]:
    """`name==X` for each `name>=X` (extras kept), of the named packages or all."""
    pins = []
    for requirement in requirements:
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)(\[[^\]]*\])?>=([^,;\s]+)", requirement)
        if match is not None and (names is None or match.group(1) in names):
            pins.append(f"{match.group(1)}{match.group(2) or ''}=={match.group(3)}")
    return pins


def oldest() -> list[str]:
    runtime = [*PROJECT["dependencies"]]
    for extra in RUNTIME_EXTRAS:
        runtime += PROJECT["optional-dependencies"][extra]
    test = PROJECT["optional-dependencies"]["test"]
    # The tracers, and the instrumentation released with opentelemetry-api's lowest bound.
    tracers = lower_bounds(test, (*OLDEST_TRACERS, "opentelemetry-instrumentation-django"))
    return sorted({*lower_bounds(runtime), *tracers})
