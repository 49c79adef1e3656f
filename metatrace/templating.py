"""What templates receive: `trace_meta` that renders when printed or called, not before."""

from __future__ import annotations

from markupsafe import Markup

from .sources import current


class LazyTraceMeta:
    """Works as `{{ trace_meta }}` and `{{ trace_meta() }}` in Django and Jinja templates.

    It renders for the context active at render time, so one instance serves every request.
    """

    __slots__ = ()

    def __call__(self) -> Markup:
        return current().meta()

    def __html__(self) -> str:
        return current().meta()

    def __str__(self) -> str:
        return current().meta()

    def __repr__(self) -> str:
        return "<LazyTraceMeta>"


lazy_trace_meta = LazyTraceMeta()
