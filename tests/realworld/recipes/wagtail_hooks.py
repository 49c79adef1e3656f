"""The Wagtail admin's recipe (docs/third-party.md): the tags in the <head> of every admin
page (login, dashboard, editor), through the hook that Wagtail prints there."""

from __future__ import annotations

from wagtail import hooks

import metatrace

hooks.register("insert_global_admin_css", metatrace.trace_meta)
