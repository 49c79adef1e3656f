"""The sample site's settings, plus the test templates in tests/templates and tests/jinja2."""

from __future__ import annotations

from pathlib import Path

from sample_site.settings import *  # noqa: F403
from sample_site.settings import ALLOWED_HOSTS, TEMPLATES

HERE = Path(__file__).resolve().parent
TEMPLATES[0]["DIRS"] = [HERE / "templates"]
TEMPLATES[1]["DIRS"] = [*TEMPLATES[1]["DIRS"], HERE / "jinja2"]

# The test views (tests/urls.py) include the sample site's pages at the same paths.
ROOT_URLCONF = "tests.urls"

# docs/browser.md: the browser tests reach the site under a name that is not a secure context.
ALLOWED_HOSTS = [*ALLOWED_HOSTS, "metatrace.test"]
