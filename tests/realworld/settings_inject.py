"""The real-world site with none of the one-line recipes, and `INJECT` on instead: every page
kind (the Wagtail admin, the Django admin, DRF's browsable API, error pages) must carry this
request's trace through injection alone. tests/test_realworld.py runs it like the main site.
"""

from __future__ import annotations

from tests.realworld.settings import *  # noqa: F403
from tests.realworld.settings import INSTALLED_APPS, METATRACE

INSTALLED_APPS = [app for app in INSTALLED_APPS if app != "tests.realworld.recipes"]
METATRACE = {**METATRACE, "INJECT": True}
