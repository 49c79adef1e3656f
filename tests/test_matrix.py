"""The classifiers say exactly what the version matrix (matrix.py) and .venv's run test."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from tools import matrix

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
# The whole suite's run: .venv, on the Python the Makefile makes it with, Django 5.2.
FULL_RUN = ("3.11", "5.2")


def _classified(prefix: str) -> set[str]:
    return {
        classifier.removeprefix(prefix)
        for classifier in PROJECT["classifiers"]
        if classifier.startswith(prefix)
        and re.fullmatch(r"\d+(\.\d+)?", classifier.removeprefix(prefix))
    }


def test_the_classifiers_name_the_pythons_and_djangos_that_are_tested() -> None:
    tested = {(python, django) for python, django, _ in matrix.MATRIX} | {FULL_RUN}
    assert _classified("Programming Language :: Python :: ") == {"3", *{p for p, _ in tested}}
    assert _classified("Framework :: Django :: ") == {django for _, django in tested}


def test_the_oldest_session_installs_every_lower_bound() -> None:
    pins = {
        pin.partition("==")[0].partition("[")[0]: pin.partition("==")[2] for pin in matrix.oldest()
    }
    assert pins["django"] == PROJECT["optional-dependencies"]["django"][0].partition(">=")[2]
    for extra in ("jinja", "sentry", "otel"):
        name, _, bound = PROJECT["optional-dependencies"][extra][0].partition(">=")
        assert pins[name] == bound, extra
    assert {"oldest", "newest"} == {releases for _, _, releases in matrix.MATRIX}
