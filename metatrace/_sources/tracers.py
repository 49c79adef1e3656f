"""What the tracer modules share: a tracer is imported only when it is the source (or the
site imported it already), and a tracer named as SOURCE that records nothing is named once."""

from __future__ import annotations

import logging
import sys
from types import ModuleType

from .._core.active import get_active

logger = logging.getLogger("metatrace")


def module(name: str, required: bool) -> ModuleType | None:
    """The tracer's module if the site has imported it; imported now if `required`."""
    found = sys.modules.get(name)
    if found is None and required:
        __import__(name)
        found = sys.modules[name]
    return found


def request_baggage(trace_id: str) -> str | None:
    """The request's incoming baggage (its DSC, the third-party members), which dd-trace-py
    and Elastic's agent do not hand on, when the tracer continued the trace that came in."""
    active = get_active()
    return None if active is None else active.incoming_baggage(trace_id)


_said: set[str] = set()


def not_recording(source: str, why: str) -> None:
    """Say once, at WARNING, why the tracer named as SOURCE records nothing."""
    if why in _said:
        return
    _said.add(why)
    logger.warning(
        "metatrace: SOURCE is %r, but %s Until then the pages carry metatrace's own trace, "
        "which that tracer never sends.",
        source,
        why,
    )
