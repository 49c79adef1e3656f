"""Runs tests/realworld (a Wagtail site with the Django admin and a DRF API) in a pytest
process of its own: Django is set up once per process, and that site needs settings of its
own (INSTALLED_APPS, a database, migrations) that the rest of the suite must not get.

A subprocess keeps both runs real and independent; its output is shown when it fails. Run it
alone with `pytest tests/realworld --ds=tests.realworld.settings`.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# The site with the one-line recipes, and the same site with none of them and INJECT on.
SITES = ["tests.realworld.settings", "tests.realworld.settings_inject"]


@pytest.mark.parametrize("settings", SITES)
def test_the_real_world_suite_passes(settings: str) -> None:
    command = [sys.executable, "-m", "pytest", "tests/realworld", f"--ds={settings}"]
    completed = subprocess.run(
        [*command, "-p", "no:cacheprovider", "-q", "--no-header"],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": settings},
        capture_output=True,
        text=True,
        timeout=600,
    )
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output
    # Every test ran and passed: nothing skipped, nothing deselected, no warning let through.
    summary = output.strip().splitlines()[-1]
    assert re.fullmatch(r"\d+ passed in [\d.]+s( \(\d+:\d+:\d+\))?", summary), output
    assert int(summary.split()[0]) >= 20, output
