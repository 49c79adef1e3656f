"""What a per-request tag inside a fragment cache is refused with (templating.refuse_cached)."""

from __future__ import annotations

REFUSED = (
    "{tag} is inside {{% cache %}}: the cached fragment would show its first visitor's trace "
    "to every later visitor (and, under a shared key, on other pages). Render {tag} outside "
    "the cached block, or set METATRACE['ALLOW_CACHED_TAG'] = True "
    "(configure(allow_cached_tag=True) without Django) to make this a warning."
)
