"""Mutants accepted as equivalent: each changes nothing that a user could see.

Keys are mutmut's mutant names (`module.x_function__mutmut_N`) and, for the module-level
mutants of tools/mutants.py, `module.py: description`. mutmut numbers the mutants of a function
in order, so an entry must be checked again whenever its function changes: `mutmut show NAME`
prints the mutant. Reasons are one line, by category:

- "default": a default value that the code never reaches or that leads to the same result;
- "log text": the wording of a log message (the logger, the level and the facts it names are
  tested);
- "fast path": a shortcut whose slow path gives the same answer;
- "redundant guard": a check that another check already makes.
"""

from __future__ import annotations

EQUIVALENT: dict[str, str] = {
    # caching.py
    "metatrace.caching.x_is_shared_cacheable__mutmut_4": (
        "default: a missing Cache-Control becomes one unknown directive, which is ignored"
    ),
    "metatrace.caching.x_is_shared_cacheable__mutmut_15": (
        "default: a directive without a value gets a non-digit value either way; only max-age "
        "reads it, and reads both as not a positive number"
    ),
    "metatrace.caching.x__is_future__mutmut_5": (
        "redundant guard: without a Date, _timestamp(None) fails its parse and returns None"
    ),
    "metatrace.caching.x_needs_stripping__mutmut_4": (
        "default: an absent Expires as '' instead of None is unreadable, so already expired"
    ),
    "metatrace/caching.py: _DIRECTIVE_RE: A-Z -> high end - 1 at 5": (
        "no directive that is read (private, no-store, public, s-maxage, max-age) has a Z"
    ),
    "metatrace/caching.py: _DIRECTIVE_RE: a-z -> high end - 1 at 8": (
        "no directive that is read (private, no-store, public, s-maxage, max-age) has a z"
    ),
    "metatrace/caching.py: _DIRECTIVE_RE: + -> * at 13": (
        "a directive with an empty name is never read"
    ),
}
