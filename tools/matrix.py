"""The version matrix's data, read by noxfile.py, tools/lock.py and tests/test_matrix.py (which
checks that the classifiers, the extras and metatrace's own table of tested majors say what it
tests): the sessions, the releases each installs, and the suite each runs.

Every session installs from a lock of its own (tools/locks/), made by `make lock`, so that a
release published elsewhere cannot change what `make test` runs; `make newest` tries the newest
releases of everything, beyond the locks and the bounds.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import tomllib
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
LOCKS = ROOT / "tools" / "locks"


class Session(NamedTuple):
    python: str
    django: str
    releases: str  # "oldest", "newest", or a key of TRACER_RELEASES

    @property
    def name(self) -> str:
        return f"{self.python}-django{self.django}-{self.releases}"

    @property
    def lock(self) -> Path:
        return LOCKS / f"{self.name}.txt"


# "oldest" installs every runtime dependency at the lower bound its extra names; the others the
# newest release within the bounds when the locks were made, of each tracer's newest major
# unless TRACER_RELEASES says otherwise. Python 3.11 with Django 5.2 and the newest releases
# is .venv's (tools/locks/dev.txt): the whole suite runs there. Django 4.2 supports Python up to
# 3.12, Django 6 from 3.12 on.
MATRIX = [
    Session("3.11", "4.2", "oldest"),
    Session("3.12", "4.2", "newest"),
    Session("3.12", "5.2", "newest"),
    Session("3.12", "6.1", "newest"),
    Session("3.13", "5.2", "newest"),
    Session("3.13", "6.1", "newest"),
    Session("3.12", "5.2", "previous-majors"),
    Session("3.12", "5.2", "first-of-majors"),
]
# The tracers' other ends: with "oldest" (the first release of the oldest major) and "newest"
# (the newest of the newest), the oldest and the newest release of every supported major.
TRACER_RELEASES = {
    # The newest release of each tracer's previous major.
    "previous-majors": ["sentry-sdk==2.76.0", "ddtrace==3.19.9"],
    # The first release of each tracer's newest major.
    "first-of-majors": ["sentry-sdk==3.0.0", "ddtrace==4.0.0"],
}
# The majors tested: for each tracer, every major between its oldest and newest session.
TRACER_MAJORS = {
    "sentry-sdk": (2, 3),
    "opentelemetry-api": (1,),
    "ddtrace": (3, 4),
    "elastic-apm": (6,),
}
# The extras whose lower bounds the "oldest" sessions install, and the test extra's tracers.
RUNTIME_EXTRAS = ("django", "jinja", "celery", "requests", "httpx", "flask", "starlette")
OLDEST_TRACERS = ("sentry-sdk", "opentelemetry-api", "opentelemetry-sdk", "ddtrace", "elastic-apm")
# opentelemetry-instrumentation 0.41b0 imports pkg_resources, which setuptools 81 removed.
OLDEST_EXTRA = ["setuptools<81"]
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
# What a session that changes only the tracers runs: the tests of the tracers, the sample site
# and the documentation's examples, which run on each line.
TRACER_TESTS = [
    "tests/sources/",
    "tests/django_app/test_otel.py",
    "tests/django_app/test_checks.py",
    "tests/core/test_context.py",  # what a tracer's span renders: SpanContext
    "tests/test_setups.py",
    "tests/test_differential.py",
    "tests/test_readme.py",
    "tests/test_sample_site.py",
]


def interpreter(version: str) -> str:
    """The interpreter for `version`: on PATH, or installed by pyenv (whose shims answer only
    for the selected version)."""
    found = shutil.which(f"python{version}")
    pyenv = sorted(glob.glob(os.path.expanduser(f"~/.pyenv/versions/{version}.*/bin/python3")))
    return pyenv[-1] if pyenv else found or f"python{version}"


_BOUND = re.compile(r"([A-Za-z0-9_.-]+)(\[[^\]]*\])?>=([^,;\s]+)(?:,<[^,;\s]+)?")


def lower_bounds(requirements: list[str], names: tuple[str, ...] | None = None) -> list[str]:
    """`name==X` for each `name>=X` (extras kept), of the named packages or all."""
    pins = []
    for requirement in requirements:
        match = _BOUND.fullmatch(requirement)
        if match is not None and (names is None or match.group(1) in names):
            pins.append(f"{match.group(1)}{match.group(2) or ''}=={match.group(3)}")
    return pins


def oldest() -> list[str]:
    runtime = [*PROJECT["dependencies"]]
    for extra in RUNTIME_EXTRAS:
        runtime += PROJECT["optional-dependencies"][extra]
    test = PROJECT["optional-dependencies"]["test"]
    # The tracers, and the instrumentation released with opentelemetry-api's lowest bound.
    instrumentation = ("opentelemetry-instrumentation-django", "opentelemetry-instrumentation-asgi")
    tracers = lower_bounds(test, (*OLDEST_TRACERS, *instrumentation))
    return sorted({*lower_bounds(runtime), *tracers})


def pins(session: Session) -> list[str]:
    """What a session asks for besides the test extra: its Django, and its tracers."""
    if session.releases == "oldest":
        django = f"django=={session.django}"
        rest = [pin for pin in oldest() if not pin.lower().startswith("django==")]
        return [django, *rest, *OLDEST_EXTRA]
    return [f"django~={session.django}.0", *TRACER_RELEASES.get(session.releases, [])]


def tests(session: Session) -> list[str]:
    """The test files a session runs (all, for "oldest" and "newest")."""
    return TRACER_TESTS if session.releases in TRACER_RELEASES else []
