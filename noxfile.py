"""The version matrix: the suite on each Python and Django that metatrace supports, with the
oldest and the newest Jinja2, sentry-sdk and OpenTelemetry that its extras allow.

`make test` runs the whole suite once, in .venv (Python 3.11, the newest releases that install
there), then every session here: the suite without the browser and the real-world tests,
which do not change with these versions. `nox -l` lists the sessions; `make matrix` runs them.
The classifiers in pyproject.toml name exactly these Pythons and Djangos (a test holds them
to it).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import nox

sys.path.insert(0, str(Path(__file__).resolve().parent / "tools"))
from matrix import MATRIX, PYTEST, interpreter, oldest

nox.options.default_venv_backend = "uv"
nox.options.error_on_missing_interpreters = True


@nox.session(name="suite")
@nox.parametrize(
    "python, django, releases",
    [
        nox.param(interpreter(python), django, releases, id=f"{python}-django{django}-{releases}")
        for python, django, releases in MATRIX
    ],
)
def suite(session: nox.Session, django: str, releases: str) -> None:
    # opentelemetry-instrumentation 0.41b0 imports pkg_resources, which setuptools 81 removed.
    pins = [*oldest(), "setuptools<81"] if releases == "oldest" else []
    pins = [pin for pin in pins if not pin.lower().startswith("django==")]
    django_pin = f"django=={django}" if releases == "oldest" else f"django~={django}.0"
    session.install("-e", ".[test]", django_pin, *pins)
    session.run("python", "-c", _VERSIONS)
    session.run(*PYTEST, *session.posargs, env={"CI": os.environ.get("CI", "")})


# What each session ran with, printed before its tests.
_VERSIONS = (
    "import sys, importlib.metadata as m; print(sys.version.split()[0], *(f'{n} {m.version(n)}' "
    "for n in ('django', 'jinja2', 'sentry-sdk', 'opentelemetry-api', 'opentelemetry-sdk', "
    "'celery', 'flask', 'starlette', 'markupsafe')), sep=', ')"
)
