"""Whether the response side strips a complete HTML response (needs_stripping)."""

from __future__ import annotations

from metatrace._pages.responses import header_map, read_page


def needs_stripping(headers: list[tuple[str, str]]) -> bool:
    """Whether the response side strips this complete HTML response (metatrace.responses)."""
    page = read_page(header_map(headers), 200, complete=True)
    return page is not None and page.strips
