"""metatrace/_core/names.py: every name on the wire, spelled once. The hot path of context.py
spells the tag and entry names inside its f-strings (a name read from a module costs a lookup
per page): what it renders must carry exactly the names this module spells."""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup

import metatrace
from metatrace._core import names
from metatrace._core.context import TraceContext
from metatrace._core.timing import parse_server_timing
from tests.conftest import INCOMING_SPAN, INCOMING_TRACE

CONTINUED = {
    "sentry_trace": f"{INCOMING_TRACE}-{INCOMING_SPAN}-1",
    "traceparent": f"00-{INCOMING_TRACE}-{INCOMING_SPAN}-01",
    "tracestate": "vendor=1",
}


@pytest.mark.parametrize("incoming", [{}, CONTINUED], ids=["started", "continued"])
def test_the_tags_entries_and_headers_carry_the_names_spelled_here(
    incoming: dict[str, str],
) -> None:
    metatrace.configure(public_key="k", w3c=True, tracestate=True, trace_metric=True)
    context = TraceContext(**incoming)
    page = context.page()
    tags = [meta["name"] for meta in BeautifulSoup(str(page.tags), "html.parser").find_all("meta")]
    expected = [*names.OWN_TIMING_ENTRIES, *[names.TRACESTATE] * bool(incoming)]
    assert tags == expected
    metrics, malformed = parse_server_timing([page.server_timing])
    assert [metric.name for metric in metrics] == [*expected, names.TRACE_METRIC]
    assert malformed == 0
    assert list(context.headers()) == list(names.PROPAGATED[: len(expected)])


def test_the_started_trace_of_the_one_step_rendering_is_named_alike() -> None:
    # The common page (a key, default channels) takes the one-step rendering: its own f-strings.
    metatrace.configure(public_key="k", w3c=True)
    page = TraceContext().page()
    tags = [meta["name"] for meta in BeautifulSoup(str(page.tags), "html.parser").find_all("meta")]
    metrics, _ = parse_server_timing([page.server_timing])
    assert tags == [metric.name for metric in metrics] == list(names.OWN_TIMING_ENTRIES)


def test_the_environ_spellings_are_the_headers_in_wsgi_form() -> None:
    assert names.ENVIRON_KEYS == (
        "HTTP_SENTRY_TRACE",
        "HTTP_BAGGAGE",
        "HTTP_TRACEPARENT",
        "HTTP_TRACESTATE",
    )
    assert set(metatrace.environ()) == {names.ENV_SENTRY_TRACE, names.ENV_BAGGAGE}


def test_the_checker_reads_every_name_a_page_may_carry() -> None:
    assert set(names.HANDOVER_NAMES) == {
        *names.PROPAGATED,
        names.TRACE_METRIC,
        names.DD_TRACE_ID,
        names.DD_TRACE_TIME,
    }
