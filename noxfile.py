"""The version matrix: the suite on each Python and Django that metatrace supports, with the
oldest and the newest release of each tracer's supported majors (tools/matrix.py), each
session from its own lock (tools/locks/).

`make test` runs the whole suite once, in .venv (Python 3.11, tools/locks/dev.txt), then every
session here: the suite without the browser and the real-world tests, which do not change with
these versions (a session that changes only the tracers runs their tests). `nox -l` lists the
sessions; `make matrix` runs them. The classifiers in pyproject.toml name exactly these Pythons
and Djangos (a test holds them to it).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import nox

sys.path.insert(0, str(Path(__file__).resolve().parent / "tools"))
from matrix import MATRIX, PYTEST, interpreter, tests

nox.options.default_venv_backend = "uv"
nox.options.error_on_missing_interpreters = True


@nox.session(name="suite")
@nox.parametrize(
    "python, name", [nox.param(interpreter(s.python), s.name, id=s.name) for s in MATRIX]
)
def suite(session: nox.Session, name: str) -> None:
    [matrix_session] = [s for s in MATRIX if s.name == name]
    # Exactly the releases of its lock (`make lock` makes them): nothing new overnight.
    session.install("-r", str(matrix_session.lock))
    session.install("--no-deps", "-e", ".")
    session.run("python", "-c", _VERSIONS)
    posargs = session.posargs or tests(matrix_session)
    session.run(*PYTEST, *posargs, env={"CI": os.environ.get("CI", "")})


# What each session ran with, printed before its tests.
_VERSIONS = (
    "import sys, importlib.metadata as m; print(sys.version.split()[0], *(f'{n} {m.version(n)}' "
    "for n in ('django', 'jinja2', 'sentry-sdk', 'opentelemetry-api', 'opentelemetry-sdk', "
    "'ddtrace', 'elastic-apm', 'celery', 'flask', 'starlette', 'markupsafe')), sep=', ')"
)
