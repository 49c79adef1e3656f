"""The sample site without metatrace, for the throughput baseline (`bench.server`).

The same settings, minus the middleware, the app, the context processor and the Jinja
extension; `templates/sample/index.html` overrides the page with a constant in place of the tag.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, cast

from sample_site.settings import *  # noqa: F403
from sample_site.settings import INSTALLED_APPS, MIDDLEWARE, TEMPLATES

INSTALLED_APPS = [app for app in INSTALLED_APPS if app != "metatrace"]
MIDDLEWARE = [name for name in MIDDLEWARE if not name.startswith("metatrace.")]
TEMPLATES = copy.deepcopy(TEMPLATES)
for engine in TEMPLATES:
    options = cast("dict[str, Any]", engine["OPTIONS"])
    options["context_processors"] = [
        name for name in options["context_processors"] if not name.startswith("metatrace.")
    ]
    options.pop("extensions", None)
TEMPLATES[0]["DIRS"] = [Path(__file__).resolve().parent / "templates"]
