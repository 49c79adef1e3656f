"""Check the trace handshake of a deployed page, as a browser behind the CDN would see it.

`python -m metatrace check URL [URL ...]` (or `check(url)`) fetches each page twice: first
sending a trace of its own (fresh random ids and its own DSC), then sending none, as a new
visitor does. It reports whether the page hands the browser a valid trace (meta tags,
Server-Timing), whether each channel continued the checker's trace, whether a cache replayed
the first page to the second visitor, what the caching headers say, and whether the DSC
matches a DSN. No framework: the standard library and the core.

- fetch: fetching a page as a browser would;
- read: what a fetched page hands the browser;
- findings: the checks;
- report: the findings, the verdict, the exit status;
- cli: the command line.
"""

from .fetch import FetchedPage, FetchError, Hop, Options, fetch
from .findings import check
from .read import Handover, read_handover
from .report import (
    FAILED,
    OK,
    UNREACHABLE,
    USAGE,
    Finding,
    Level,
    Report,
    Section,
    exit_status,
    render,
    render_json,
    render_run,
    to_json,
)

__all__ = [
    "FAILED",
    "OK",
    "UNREACHABLE",
    "USAGE",
    "FetchError",
    "FetchedPage",
    "Finding",
    "Handover",
    "Hop",
    "Level",
    "Options",
    "Report",
    "Section",
    "check",
    "exit_status",
    "fetch",
    "read_handover",
    "render",
    "render_json",
    "render_run",
    "to_json",
]
