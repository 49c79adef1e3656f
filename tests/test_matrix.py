"""The classifiers say exactly what the version matrix (matrix.py) and .venv's run test."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.version import Version

from metatrace._sources import TESTED
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
    tested = {(session.python, session.django) for session in matrix.MATRIX} | {FULL_RUN}
    assert _classified("Programming Language :: Python :: ") == {"3", *{p for p, _ in tested}}
    assert _classified("Framework :: Django :: ") == {django for _, django in tested}


def _locked(path: Path) -> dict[str, str]:
    pins = re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", path.read_text(encoding="utf-8"), flags=re.M)
    return {name.lower(): version for name, version in pins}


def _bounds(requirement: str) -> tuple[str, str, int]:
    """(name, lower bound, the major it stops before) of `name>=X,<N`."""
    match = re.fullmatch(r"([a-z0-9-]+)>=([0-9.]+),<([0-9]+)", requirement)
    assert match is not None, f"{requirement}: a tracer's extra names both bounds"
    return match[1], match[2], int(match[3])


TRACER_EXTRAS = {"sentry-sdk": "sentry", "opentelemetry-api": "otel", "ddtrace": "datadog"}
TRACER_EXTRAS["elastic-apm"] = "elastic"


@pytest.mark.parametrize("tracer", sorted(matrix.TRACER_MAJORS))
def test_each_supported_major_of_each_tracer_runs_at_its_oldest_and_newest(tracer: str) -> None:
    # The extras allow the majors tested and no later one, metatrace warns of any other at
    # start-up (metatrace._sources.TESTED), and the locks hold the oldest and the newest
    # release of each of those majors.
    majors = matrix.TRACER_MAJORS[tracer]
    name, lower, stop = _bounds(PROJECT["optional-dependencies"][TRACER_EXTRAS[tracer]][0])
    assert (name, int(lower.partition(".")[0]), stop) == (tracer, majors[0], majors[-1] + 1)
    assert {distribution: tested for distribution, _, tested in TESTED}[tracer] == majors
    released = sorted({Version(_locked(session.lock)[tracer]) for session in matrix.MATRIX})
    for major in majors:
        ours = [version for version in released if version.major == major]
        assert ours, f"no session runs {tracer} {major}.x"
        if major == majors[0]:
            assert ours[0] == Version(lower)
        # The first release of each major: the oldest session has the first one's, and
        # "first-of-majors" the later ones'.
        assert ours[0] in (Version(lower), Version(f"{major}.0.0")), (tracer, ours)


def test_every_session_installs_its_lock_which_holds_what_it_asks_for() -> None:
    for session in matrix.MATRIX:
        locked = _locked(session.lock)
        for pin in matrix.pins(session):
            name, equals, version = pin.partition("==")
            if equals:
                found = Version(locked[name.partition("[")[0].lower()])
                assert found == Version(version), (session.name, pin)
        assert locked["django"].startswith(session.django), session.name
    dev = _locked(matrix.LOCKS / "dev.txt")
    assert dev["django"].startswith(FULL_RUN[1])
    # .venv runs the newest of everything, as the "newest" sessions do.
    newest = _locked(matrix.MATRIX[1].lock)
    for tracer in matrix.TRACER_MAJORS:
        assert dev[tracer] == newest[tracer], tracer


def test_the_oldest_session_installs_every_lower_bound() -> None:
    pins = {
        pin.partition("==")[0].partition("[")[0]: pin.partition("==")[2] for pin in matrix.oldest()
    }
    assert pins["django"] == PROJECT["optional-dependencies"]["django"][0].partition(">=")[2]
    for extra in ("jinja", "sentry", "otel", "datadog", "elastic"):
        name, _, bound = PROJECT["optional-dependencies"][extra][0].partition(">=")
        assert pins[name] == bound.partition(",")[0], extra
    assert {"oldest", "newest", *matrix.TRACER_RELEASES} == {s.releases for s in matrix.MATRIX}
