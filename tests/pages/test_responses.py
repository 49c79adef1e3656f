"""metatrace/_pages/responses.py: every HTML response carries exactly this request's trace.

Through the real Django middleware: Server-Timing, stale fragments, injection, and
shared-cacheable pages."""

from __future__ import annotations

import gzip
import json
import logging
import re
import threading
import time
from collections.abc import Callable
from html.parser import HTMLParser
from typing import Any

import pytest
from bs4 import BeautifulSoup, Comment, Tag
from django.core.cache import cache
from django.test import AsyncClient, Client
from django.test.client import Client as DjangoClient
from django.utils.http import http_date

import metatrace
import metatrace._core.config
import metatrace._core.timing
from metatrace._core.context import TraceContext
from metatrace._core.withheld import tags_withheld
from metatrace._pages import responses
from metatrace._pages.responses import HEAD_LIMIT, changed_headers, read_page
from tests.conftest import (
    INCOMING_SPAN,
    INCOMING_TRACE,
    decode_baggage,
    parse_trace_meta,
    run_python,
    trace_meta_elements,
)
from tests.pages.stripping import needs_stripping
from tests.responses_urls import (
    EXISTING_TIMING,
    LONG_COMMENT,
    NO_TAGS_PAGE,
    OTHER_TAGS,
    OTHER_TRACE,
    STREAM_RENDERERS,
)
from tests.sources.agents import ELASTIC
from tests.timing_reader import parse_server_timing

pytestmark = [
    pytest.mark.urls("tests.responses_urls"),
    pytest.mark.usefixtures("django_config", "_warnings_given_anew"),
]


TRACE_A, TRACE_B = "a" * 32, "b" * 32
A = {
    "sentry-trace": f"{TRACE_A}-{'1' * 16}-1",
    "baggage": f"sentry-trace_id={TRACE_A},sentry-public_key=alice,sentry-sampled=true",
}
B = {
    "sentry-trace": f"{TRACE_B}-{'2' * 16}-1",
    "baggage": f"sentry-trace_id={TRACE_B},sentry-public_key=bob,sentry-sampled=true",
}
DSN = "https://5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e@o1.ingest.example.invalid/2"


@pytest.fixture(autouse=True)
def _empty_cache() -> None:
    cache.clear()


def trace_entries(response: Any) -> dict[str, str]:
    """The trace entries of a response's Server-Timing, name -> desc, each at most once."""
    if not response.has_header("Server-Timing"):
        return {}
    found = [
        (name, params.get("desc", ""))
        for name, params in parse_server_timing(response["Server-Timing"])
        if name in ("sentry-trace", "baggage", "traceparent")
    ]
    assert len({name for name, _ in found}) == len(found), found
    return dict(found)


def other_entries(response: Any) -> list[tuple[str, dict[str, str]]]:
    return [
        entry
        for entry in parse_server_timing(response["Server-Timing"])
        if entry[0] not in ("sentry-trace", "baggage", "traceparent")
    ]


# Server-Timing ---------------------------------------------------------------------------


def test_an_html_page_carries_its_tags_in_server_timing(client: Client) -> None:
    response = client.get("/t/tag/", headers=A)
    tags = parse_trace_meta(response.content.decode())
    assert tags["sentry-trace"].startswith(TRACE_A)
    assert decode_baggage(tags["baggage"])["public_key"] == "alice"
    assert trace_entries(response) == tags


@pytest.mark.parametrize(
    "options, headers, names",
    [
        ({"W3C": False}, {}, set()),  # a trace we start with no key renders nothing
        ({"W3C": True}, {}, {"traceparent"}),
        ({"W3C": False, "DSN": DSN}, {}, {"sentry-trace", "baggage"}),
        ({"W3C": True, "DSN": DSN}, {}, {"sentry-trace", "baggage", "traceparent"}),
        ({"W3C": True}, A, {"sentry-trace", "baggage", "traceparent"}),
        # Continued with no DSC and no key of ours: no baggage tag, so no baggage entry.
        ({"W3C": False}, {"sentry-trace": A["sentry-trace"]}, set()),  # no DSC, and the
        # browser would freeze an empty one; a browser that fills in its own gets the trace:
        (
            {"W3C": False, "SENTRY_BROWSER_VERSION": "11.17.0"},
            {"sentry-trace": A["sentry-trace"]},
            {"sentry-trace"},
        ),
    ],
)
def test_server_timing_carries_exactly_what_the_tags_carry(
    client: Client, settings: Any, options: dict[str, Any], headers: dict[str, str], names: set[str]
) -> None:
    settings.METATRACE = {**settings.METATRACE, "DSN": None, **options}  # no key unless given
    response = client.get("/t/tag/", headers=headers)
    tags = parse_trace_meta(response.content.decode())
    assert set(tags) == names
    assert trace_entries(response) == tags
    if not names:
        assert not response.has_header("Server-Timing")


def test_a_baggage_that_html_escapes_carries_the_same_values_in_server_timing(
    client: Client, settings: Any
) -> None:
    settings.METATRACE = {**settings.METATRACE, "W3C": True}
    headers = {**A, "baggage": A["baggage"] + ",sentry-release=o'neil&co<1>"}
    response = client.get("/t/tag/", headers=headers)
    tags = parse_trace_meta(response.content.decode())  # the parser unescapes the attribute
    assert decode_baggage(tags["baggage"])["release"] == "o'neil&co<1>"
    assert set(tags) == {"sentry-trace", "baggage", "traceparent"}
    assert trace_entries(response) == tags


def written_start_tags(html: str, name: str) -> list[str]:
    """The start tags of `<meta name=...>` exactly as the page wrote them, found by a parser."""
    found: list[str] = []

    class Reader(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if tag == "meta" and ("name", name) in attrs:
                found.append(self.get_starttag_text() or "")

    Reader().feed(html)
    return found


@pytest.mark.parametrize("char", ["&", "<", ">", "'"])
def test_each_character_that_html_escapes_is_escaped_alone(client: Client, char: str) -> None:
    headers = {**A, "baggage": A["baggage"] + f",sentry-release=a{char}b"}
    response = client.get("/t/tag/", headers=headers)
    html = response.content.decode()
    tags = parse_trace_meta(html)
    assert decode_baggage(tags["baggage"])["release"] == f"a{char}b"
    # The tag as written (the parser's own text of it): the character as a reference only.
    written = written_start_tags(html, "baggage")
    assert len(written) == 1
    value = written[0].partition(' content="')[2].rpartition('"')[0]  # the attribute as written
    assert value and char not in re.sub(r"&(?:amp|lt|gt|#39|quot);", "", value)
    assert trace_entries(response) == tags


def test_an_existing_server_timing_header_is_added_to(client: Client) -> None:
    response = client.get("/r/timed/", headers=A)
    assert response["Server-Timing"].startswith(EXISTING_TIMING + ", ")
    assert other_entries(response) == [
        ("db", {"dur": "53"}),
        ("cache", {"desc": "hit, miss", "dur": "1.5"}),
    ]
    assert trace_entries(response) == parse_trace_meta(response.content.decode())


def test_trace_entries_of_another_trace_are_replaced(client: Client) -> None:
    response = client.get("/r/timed-old/", headers=A)
    assert OTHER_TRACE not in response["Server-Timing"]
    assert other_entries(response) == [
        ("db", {"dur": "53"}),
        ("cache", {"desc": "hit, miss", "dur": "1.5"}),
        ("note", {"desc": "sentry-trace, baggage"}),  # names in a desc are just text
    ]
    assert trace_entries(response) == parse_trace_meta(response.content.decode())


def test_the_setting_turns_server_timing_off(client: Client, settings: Any) -> None:
    settings.METATRACE = {**settings.METATRACE, "SERVER_TIMING": False}
    assert not client.get("/t/tag/", headers=A).has_header("Server-Timing")
    assert client.get("/r/timed/", headers=A)["Server-Timing"] == EXISTING_TIMING


def test_non_html_responses_get_no_server_timing(client: Client) -> None:
    response = client.get("/r/json/", headers=A)
    assert response["Content-Type"] == "application/json"
    assert not response.has_header("Server-Timing")


def test_a_response_without_a_content_type_is_left_alone(client: Client) -> None:
    response = client.get("/r/untyped/", headers=A)
    assert OTHER_TRACE in response.content.decode()
    assert not response.has_header("Server-Timing")


def test_a_streamed_page_gets_the_header_and_its_body_is_untouched(client: Client) -> None:
    response = client.get("/t/streaming/", headers=A)
    html = b"".join(response.streaming_content).decode()  # type: ignore[attr-defined]
    # The tags were rendered while streaming, after the header was decided: the same trace.
    assert trace_entries(response) == parse_trace_meta(html)
    assert trace_entries(client.get("/r/streaming-no-tags/", headers=A))["sentry-trace"]


# Shared-cacheable pages --------------------------------------------------------------------


def test_a_cacheable_page_loses_the_trace_entries_and_keeps_the_rest(client: Client) -> None:
    for response in (client.get("/r/timed-public/", headers=A), client.head("/r/timed-public/")):
        assert trace_entries(response) == {}
        assert other_entries(response) == [
            ("db", {"dur": "53"}),
            ("cache", {"desc": "hit, miss", "dur": "1.5"}),
        ]
    assert parse_trace_meta(client.get("/r/timed-public/", headers=A).content.decode()) == {}


def test_a_cacheable_page_without_other_entries_has_no_server_timing(client: Client) -> None:
    for path in ("/t/public/", "/t/cache-page/"):
        response = client.get(path, headers=A)
        assert not response.has_header("Server-Timing")
        assert parse_trace_meta(response.content.decode()) == {}


def test_a_streamed_cacheable_page_streams_as_it_is_without_trace_entries(client: Client) -> None:
    response = client.get("/r/streaming-public-tags/", headers=A)
    assert response.status_code == 200 and response.streaming
    html = b"".join(response.streaming_content).decode()  # type: ignore[attr-defined]
    # Never held back, so what it renders itself stays (docs/caching.md); no trace is added.
    contents = [element["content"] for element in trace_meta_elements(html)]
    assert len(contents) == 2 and all(OTHER_TRACE in content for content in contents)
    assert trace_entries(response) == {}
    assert other_entries(response) == parse_server_timing(EXISTING_TIMING)


def streamed(response: Any) -> tuple[dict[str, str], str]:
    """A streamed page's trace tags, and the sentry-trace its body says was active."""
    html = b"".join(response.streaming_content).decode()
    body = BeautifulSoup(html, "html.parser").body
    assert body is not None
    return parse_trace_meta(html), str(body["data-traceparent"])


@pytest.mark.parametrize("how", sorted(STREAM_RENDERERS))
def test_a_streamed_page_renders_its_tags_as_it_streams(client: Client, how: str) -> None:
    tags, active = streamed(client.get(f"/r/streaming-rendered/{how}/", headers=A))
    assert tags["sentry-trace"] == active and active.startswith(TRACE_A)
    assert decode_baggage(tags["baggage"])["trace_id"] == TRACE_A


@pytest.mark.parametrize("how", sorted(STREAM_RENDERERS))
def test_a_streamed_cacheable_page_renders_no_tags_and_keeps_the_trace(
    client: Client, how: str
) -> None:
    response = client.get(f"/r/streaming-public-rendered/{how}/", headers=A)
    assert response["Cache-Control"] == "public, max-age=60"
    tags, active = streamed(response)
    # A stream is never held back to strip it, so nothing to strip is rendered into it; the
    # request's trace is still the one that outgoing calls carry.
    assert tags == {} and active.startswith(TRACE_A)
    assert trace_entries(response) == {}


def test_a_stream_made_cacheable_further_out_renders_no_tags(client: Client, settings: Any) -> None:
    # The headers are read at the first chunk, after every middleware has returned.
    settings.MIDDLEWARE = ["tests.responses_urls.public_from_outside", *settings.MIDDLEWARE]
    response = client.get("/r/streaming-rendered/tag/", headers=A)
    assert response["Cache-Control"] == "public, max-age=60"
    tags, active = streamed(response)
    assert tags == {} and active.startswith(TRACE_A)


def test_a_failing_withheld_stream_leaves_the_tags_to_render_again(client: Client) -> None:
    chunks = iter(client.get("/r/streaming-public-failing/", headers=A).streaming_content)  # type: ignore[attr-defined]
    assert next(chunks) == b"<html><head>"
    with pytest.raises(RuntimeError, match="the stream failed"):
        next(chunks)
    assert not tags_withheld()
    with metatrace.trace_scope(B):
        assert parse_trace_meta(str(metatrace.trace_meta()))["sentry-trace"].startswith(TRACE_B)


@pytest.mark.asyncio
async def test_an_async_streamed_cacheable_page_renders_no_tags() -> None:
    response = await AsyncClient().get("/r/async-streaming-public-rendered/", headers=A)
    chunks = response.streaming_content  # type: ignore[attr-defined]
    html = "".join([chunk.decode() async for chunk in chunks])
    body = BeautifulSoup(html, "html.parser").body
    assert body is not None and str(body["data-traceparent"]).startswith(TRACE_A)
    assert parse_trace_meta(html) == {}


def test_tags_render_again_between_and_after_the_chunks_of_a_withheld_stream(
    client: Client,
) -> None:
    response = client.get("/r/streaming-public-rendered/function/", headers=A)
    chunks = iter(response.streaming_content)  # type: ignore[attr-defined]
    with metatrace.trace_scope(B):
        next(chunks)
        assert parse_trace_meta(str(metatrace.trace_meta()))["sentry-trace"].startswith(TRACE_B)
        assert b"".join(chunks) and metatrace.trace_meta() != ""


def test_a_streamed_cacheable_page_kept_by_the_setting_renders_its_tags(
    client: Client, settings: Any
) -> None:
    settings.METATRACE = {**settings.METATRACE, "STRIP_CACHEABLE": False}
    tags, active = streamed(client.get("/r/streaming-public-rendered/tag/", headers=A))
    assert tags["sentry-trace"] == active and active.startswith(TRACE_A)


@pytest.mark.parametrize(
    "headers, status, withheld",
    [
        ({"cache-control": "public, max-age=60"}, 200, True),
        ({"cache-control": "public, max-age=60"}, 404, True),
        ({"expires": "Thu, 01 Jan 2099 00:00:00 GMT"}, 200, True),
        ({"cache-control": "private, max-age=60"}, 200, False),
        ({"cache-control": "no-cache"}, 200, False),
        ({}, 200, False),
        ({"cache-control": "public, max-age=60"}, 199, False),
        ({"cache-control": "public, max-age=60"}, 204, False),
        ({"cache-control": "public, max-age=60"}, 300, False),
        ({"cache-control": "public, max-age=60"}, 399, False),
        ({"cache-control": "public, max-age=60", "content-type": "text/plain"}, 200, False),
    ],
)
def test_a_stream_withholds_its_tags_only_as_an_html_page_a_shared_cache_may_store(
    headers: dict[str, str], status: int, withheld: bool
) -> None:
    assert responses.withholds_tags({"content-type": "text/html", **headers}, status) is withheld


def test_pages_kept_cacheable_by_the_setting_carry_the_trace(client: Client, settings: Any) -> None:
    settings.METATRACE = {**settings.METATRACE, "STRIP_CACHEABLE": False}
    response = client.get("/r/timed-public/", headers=A)
    assert trace_entries(response) == parse_trace_meta(response.content.decode())
    assert trace_entries(response)["sentry-trace"].startswith(TRACE_A)


# Stale fragments ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/r/fragment/", "/r/fragment-include/"])
def test_a_cached_fragment_shows_each_visitor_its_own_trace(
    client: Client, caplog: pytest.LogCaptureFixture, path: str
) -> None:
    caplog.set_level(logging.WARNING, logger="metatrace")
    first = client.get(path, headers=A)
    second = client.get(path, headers=B)
    for response, trace_id, key in ((first, TRACE_A, "alice"), (second, TRACE_B, "bob")):
        tags = parse_trace_meta(response.content.decode())
        assert tags["sentry-trace"].startswith(trace_id)
        assert decode_baggage(tags["baggage"])["trace_id"] == trace_id
        assert decode_baggage(tags["baggage"])["public_key"] == key
        assert trace_entries(response) == tags
    assert TRACE_A not in second.content.decode()
    client.get(path, headers=A)  # the fragment holds B's trace now: stale again
    warnings = [record for record in caplog.records if record.levelno == logging.WARNING]
    assert len(warnings) == 1, [record.getMessage() for record in warnings]
    assert "tests.responses_urls.fragment" in warnings[0].getMessage()
    assert "fragment cache" in warnings[0].getMessage()


def test_stale_tags_are_replaced_where_they_were(client: Client, settings: Any) -> None:
    settings.MIDDLEWARE = [
        "metatrace.middleware.TraceMiddleware",
        "django.middleware.common.CommonMiddleware",  # sets Content-Length
        "django.middleware.http.ConditionalGetMiddleware",  # sets ETag
    ]
    response = client.get("/r/stale-head/", headers=A)
    html = response.content.decode()
    assert OTHER_TRACE not in html
    soup = BeautifulSoup(html, "html.parser")
    assert soup.head is not None
    names = [element.get("name") or element.name for element in soup.head.find_all(True)]
    assert names == ["sentry-trace", "baggage", "traceparent", "title"]
    assert parse_trace_meta(html)["sentry-trace"].startswith(TRACE_A)
    assert int(response["Content-Length"]) == len(response.content)
    assert not response.has_header("ETag")  # it described the page with the stale tags


def test_the_stale_tags_warning_says_what_it_found(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    # A tag written into the template by hand is stale too: the warning quotes the tag, so
    # that it can be told from a fragment cache's, and names both causes.
    saved = set(responses._warned)
    responses._warned.clear()
    caplog.set_level(logging.WARNING, logger="metatrace")
    try:
        client.get("/r/stale-head/", headers=A)
    finally:
        responses._warned.clear()
        responses._warned.update(saved)
    [record] = [r for r in caplog.records if "another trace" in r.getMessage()]
    assert record.getMessage() == (
        "metatrace: the view 'tests.responses_urls.stale_head' rendered the trace tags of another "
        "trace "
        f'(\'<meta name="sentry-trace" content="{OTHER_TRACE}-0123456789abcdef-1">\'), so they '
        "were replaced with this request's. Such tags come from a fragment cache around them "
        "({% cache %}, a cached include, a Jinja fragment cache), which serves one visitor's "
        "trace to the next, or were written into the template by hand: render the tags with "
        "metatrace, outside any cache."
    )


@pytest.mark.parametrize("etag", ["", "&etag=1"])
@pytest.mark.parametrize("kind", ["ordered", "unstored"])
def test_headers_kept_outside_djangos_own_store_are_read_too(
    client: Client, kind: str, etag: str
) -> None:
    response = client.get(f"/r/stale-head-other-headers/?kind={kind}{etag}", headers=A)
    html = response.content.decode()
    assert OTHER_TRACE not in html
    assert parse_trace_meta(html)["sentry-trace"].startswith(TRACE_A)
    assert trace_entries(response)["sentry-trace"].startswith(TRACE_A)
    assert other_entries(response) == parse_server_timing(EXISTING_TIMING)
    assert not response.has_header("ETag")  # it described the page with the stale tags


def test_only_the_head_is_looked_at(client: Client, caplog: pytest.LogCaptureFixture) -> None:
    response = client.get("/r/body-tags/", headers=A)
    contents = [element["content"] for element in trace_meta_elements(response.content.decode())]
    assert len(contents) == 2 and all(OTHER_TRACE in content for content in contents)
    assert "of another trace" not in caplog.text


def head_tags(html: str) -> list[tuple[str, str]]:
    """(name, content) of each trace tag in the head, as html5lib (the HTML5 parsing
    algorithm, which browsers follow) builds the head: also the implied one."""
    soup = BeautifulSoup(html, "html5lib")
    assert soup.head is not None
    return [
        (e["name"], e["content"])
        for e in soup.head.find_all("meta")
        if e.get("name") in ("sentry-trace", "baggage", "traceparent")
    ]


def assert_one_set_of(html: str, trace_id: str) -> None:
    """The page carries one set of tags, all of `trace_id`, and all in its head."""
    tags = head_tags(html)
    assert [name for name, _ in tags] == ["sentry-trace", "baggage", "traceparent"], tags
    assert tags[0][1].startswith(trace_id) and trace_id in tags[2][1]
    assert len(trace_meta_elements(html)) == 3  # none elsewhere either


@pytest.mark.parametrize("path", ["/r/late-tags/", "/r/head-script/"])
def test_stale_tags_anywhere_in_the_head_are_replaced(
    client: Client, caplog: pytest.LogCaptureFixture, path: str
) -> None:
    # After 20 KB of head (an 8 KB window missed them), and after a script and a comment
    # that spell "</head>" and "<body>" without ending the head.
    caplog.set_level(logging.WARNING, logger="metatrace")
    response = client.get(path, headers=A)
    assert_one_set_of(response.content.decode(), TRACE_A)
    assert "rendered the trace tags of another trace (" in caplog.text
    assert "), so they were replaced" in caplog.text


def test_a_trace_tag_of_another_spelling_is_left_with_a_warning(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    # Another renderer's tag (XHTML's closing slash): not one that metatrace replaces.
    caplog.set_level(logging.WARNING, logger="metatrace")
    response = client.get("/r/foreign-tag/", headers=A)
    [tag] = trace_meta_elements(response.content.decode())
    assert tag["content"].startswith(OTHER_TRACE)
    assert (
        "the view 'tests.responses_urls.foreign_tag' carries a trace tag of another trace in a "
        "spelling that metatrace does not render, so it was left as it is"
    ) in caplog.text


def test_a_script_that_spells_the_heads_end_is_kept_as_it_was(client: Client) -> None:
    response = client.get("/r/head-script/", headers=A)
    soup = BeautifulSoup(response.content.decode(), "html5lib")
    assert soup.head is not None and soup.head.script is not None
    assert soup.head.script.string == "document.write('</head><body>');"


@pytest.mark.parametrize("inject", [False, True])
def test_tags_past_the_head_limit_are_left_with_a_warning(
    client: Client, settings: Any, caplog: pytest.LogCaptureFixture, inject: bool
) -> None:
    settings.METATRACE = {**settings.METATRACE, "INJECT": inject}
    caplog.set_level(logging.WARNING, logger="metatrace")
    response = client.get("/r/past-limit-tags/", headers=A)
    contents = [element["content"] for element in trace_meta_elements(response.content.decode())]
    assert len(contents) == 2 and all(OTHER_TRACE in content for content in contents)
    [warning] = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warning == (
        "metatrace: the head of the view 'tests.responses_urls.past_limit_tags' runs past the "
        f"first {HEAD_LIMIT} bytes (metatrace.HEAD_LIMIT), so trace tags after that "
        "are neither checked (a stale or repeated set stays) nor injected. End the head "
        "sooner: move large inline styles or scripts into files."
    )


def test_a_head_past_the_limit_gets_no_tags_injected(
    client: Client, settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    # Tags of its own may follow, past the bound: injecting could make two sets.
    settings.METATRACE = {**settings.METATRACE, "INJECT": True}
    caplog.set_level(logging.WARNING, logger="metatrace")
    response = client.get("/r/past-limit-head/", headers=A)
    assert trace_meta_elements(response.content.decode()) == []
    assert "runs past the first" in caplog.text


@pytest.mark.parametrize("inject", [False, True])
def test_tags_rendered_twice_leave_as_one_set(
    client: Client, settings: Any, caplog: pytest.LogCaptureFixture, inject: bool
) -> None:
    settings.METATRACE = {**settings.METATRACE, "INJECT": inject}
    caplog.set_level(logging.WARNING, logger="metatrace")
    response = client.get("/r/twice/", headers=A)
    assert_one_set_of(response.content.decode(), TRACE_A)
    assert (
        "the view 'tests.responses_urls.twice' rendered the trace tags more than once, so one "
        "set was kept"
    ) in caplog.text
    assert int(response["Content-Length"]) == len(response.content)


def test_a_cached_include_and_the_tag_leave_as_one_set_of_each_visitors_trace(
    client: Client,
) -> None:
    # The first visit renders its trace twice (the include, then the tag); the second gets
    # the first visitor's trace from the cached include, and its own from the tag.
    first = client.get("/r/cached-include/", headers=A)
    assert_one_set_of(first.content.decode(), TRACE_A)
    second = client.get("/r/cached-include/", headers=B)
    assert_one_set_of(second.content.decode(), TRACE_B)
    assert TRACE_A not in second.content.decode()


@pytest.mark.parametrize("inject", [False, True])
def test_a_page_without_a_head_start_tag_gets_its_tags_in_the_head_not_the_header(
    client: Client, settings: Any, inject: bool
) -> None:
    settings.METATRACE = {**settings.METATRACE, "INJECT": inject}
    html = client.get("/r/headless/", headers=A).content.decode()
    if not inject:
        assert trace_meta_elements(html) == []
        return
    assert_one_set_of(html, TRACE_A)  # the browser's implied head, before <title>
    soup = BeautifulSoup(html, "html5lib")
    assert soup.header is not None and soup.header.find("meta") is None
    assert soup.head is not None and soup.head.title is not None


def test_a_fragment_gets_no_tags(client: Client, settings: Any) -> None:
    settings.METATRACE = {**settings.METATRACE, "INJECT": True}
    response = client.get("/r/fragment-page/", headers=A)
    assert response.content == b"<tr><td>row</td></tr>" * 1000


def test_tags_in_the_body_stay_when_the_heads_are_replaced(client: Client) -> None:
    response = client.get("/r/stale-head-and-body-tags/", headers=A)
    soup = BeautifulSoup(response.content.decode(), "html.parser")
    assert soup.head is not None and soup.body is not None
    head = {element["name"]: element["content"] for element in soup.head.find_all("meta")}
    assert set(head) == {"sentry-trace", "baggage", "traceparent"}
    assert head["sentry-trace"].startswith(TRACE_A) and OTHER_TRACE not in str(soup.head)
    body = [(element["name"], element["content"]) for element in soup.body.find_all("meta")]
    assert [name for name, _ in body] == ["sentry-trace", "baggage"]
    assert all(OTHER_TRACE in content for _, content in body)  # content, as it was


# Injection ---------------------------------------------------------------------------------


def test_pages_without_tags_get_none_by_default(client: Client) -> None:
    response = client.get("/r/no-tags/", headers=A)
    assert parse_trace_meta(response.content.decode()) == {}
    assert trace_entries(response)["sentry-trace"].startswith(TRACE_A)  # Server-Timing only


def test_injection_puts_the_tags_right_after_the_head_start_tag(
    client: Client, settings: Any
) -> None:
    settings.METATRACE = {**settings.METATRACE, "INJECT": True}
    settings.MIDDLEWARE = [
        "metatrace.middleware.TraceMiddleware",
        "django.middleware.common.CommonMiddleware",
    ]
    response = client.get("/r/no-tags/", headers=A)
    html = response.content.decode()
    soup = BeautifulSoup(html, "html.parser")
    assert soup.head is not None and soup.header is not None
    first = [element.get("name") for element in soup.head.find_all(True)][:3]
    assert first == ["sentry-trace", "baggage", "traceparent"]
    assert not soup.header.find_all("meta")
    tags = parse_trace_meta(html)
    assert tags["sentry-trace"].startswith(TRACE_A)
    assert trace_entries(response) == tags
    assert int(response["Content-Length"]) == len(response.content)


def test_injection_into_a_head_with_stale_tags_far_down_replaces_them(
    client: Client, settings: Any
) -> None:
    # The stale tags after 20 KB of head are found: they are replaced, and nothing is
    # injected beside them (an 8 KB window made two sets of this page).
    settings.METATRACE = {**settings.METATRACE, "INJECT": True}
    response = client.get("/r/late-tags/", headers=A)
    html = response.content.decode()
    assert_one_set_of(html, TRACE_A)
    head = BeautifulSoup(html, "html.parser").head
    assert head is not None
    children = list(head.children)
    first_tag = next(i for i, child in enumerate(children) if isinstance(child, Tag))
    padding = next(i for i, child in enumerate(children) if isinstance(child, Comment))
    assert children[first_tag].get("name") == "sentry-trace" and padding < first_tag


@pytest.mark.parametrize("path", ["/r/unended-head/", "/r/long-head/"])
def test_injection_into_a_head_whose_end_is_not_in_sight(
    client: Client, settings: Any, path: str
) -> None:
    # No </head> or <body> at all, or only after 20 KB: the tags still go after <head>.
    settings.METATRACE = {**settings.METATRACE, "INJECT": True}
    response = client.get(path, headers=A)
    soup = BeautifulSoup(response.content.decode(), "html.parser")
    assert soup.head is not None
    assert [e.get("name") for e in soup.head.find_all("meta")] == [
        "sentry-trace",
        "baggage",
        "traceparent",
    ]
    assert parse_trace_meta(response.content.decode())["sentry-trace"].startswith(TRACE_A)


def test_injection_leaves_pages_with_their_own_tags_alone(client: Client, settings: Any) -> None:
    settings.METATRACE = {**settings.METATRACE, "INJECT": True}
    response = client.get("/t/tag/", headers=A)
    assert len(trace_meta_elements(response.content.decode())) == 3  # W3C on: three, once


def test_the_admin_login_page_carries_the_trace_with_injection(
    client: Client, settings: Any
) -> None:
    without = client.get("/admin/login/", headers=A)
    assert without.status_code == 200
    assert parse_trace_meta(without.content.decode()) == {}  # the admin renders no tags
    settings.METATRACE = {**settings.METATRACE, "INJECT": True}
    response = client.get("/admin/login/", headers=A)
    assert response.status_code == 200
    html = response.content.decode()
    soup = BeautifulSoup(html, "html.parser")
    assert soup.head is not None and soup.title is not None
    assert "Log in" in soup.title.get_text()
    assert soup.head.find("meta").get("name") == "sentry-trace"  # type: ignore[union-attr]
    tags = parse_trace_meta(html)
    assert tags["sentry-trace"].startswith(TRACE_A)
    assert decode_baggage(tags["baggage"])["public_key"] == "alice"
    assert trace_entries(response) == tags
    assert int(response["Content-Length"]) == len(response.content)


def test_injection_leaves_compressed_and_streamed_pages_alone(
    client: Client, settings: Any
) -> None:
    settings.METATRACE = {**settings.METATRACE, "INJECT": True}
    streamed = client.get("/r/streaming-no-tags/", headers=A)
    html = b"".join(streamed.streaming_content).decode()  # type: ignore[attr-defined]
    assert parse_trace_meta(html) == {}
    assert trace_entries(streamed)["sentry-trace"].startswith(TRACE_A)
    settings.MIDDLEWARE = [
        "metatrace.middleware.TraceMiddleware",
        "django.middleware.gzip.GZipMiddleware",  # below: the page reaches us compressed
    ]
    compressed = DjangoClient().get("/r/no-tags/", headers={**A, "Accept-Encoding": "gzip"})
    assert compressed["Content-Encoding"] == "gzip"
    assert parse_trace_meta(gzip.decompress(compressed.content).decode()) == {}
    assert trace_entries(compressed)["sentry-trace"].startswith(TRACE_A)


# Which responses are pages, and the edges of the head -------------------------------------

STALE_PAGE = f"<html><head>{OTHER_TAGS}</head><body></body></html>"


@pytest.mark.parametrize("status", [101, 199, 204, 300, 302, 304, 399])
def test_informational_empty_and_redirect_responses_are_left_alone(
    client: Client, status: int
) -> None:
    response = client.get(f"/r/status/{status}/", headers=A)
    assert not response.has_header("Server-Timing")
    if 300 <= status < 400 and status != 304:  # the test client drops the others' bodies
        assert response.content.decode() == STALE_PAGE


@pytest.mark.parametrize("status", [200, 203, 205, 299, 400, 404, 500])
def test_pages_of_every_other_status_carry_this_trace(client: Client, status: int) -> None:
    response = client.get(f"/r/status/{status}/", headers=A)
    html = response.content.decode()
    assert OTHER_TRACE not in html
    assert parse_trace_meta(html)["sentry-trace"].startswith(TRACE_A)
    assert trace_entries(response) == parse_trace_meta(html)


def test_a_cacheable_page_without_tags_keeps_its_body_and_etag(client: Client) -> None:
    response = client.get("/r/public-no-tags/", headers=A)
    assert response.content.decode() == NO_TAGS_PAGE
    assert response["ETag"] == '"v1"'
    assert trace_entries(response) == {}


def test_a_tag_cut_off_at_the_head_limit_is_left_with_a_warning(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="metatrace")
    response = client.get("/r/cut-tag/", headers=A)
    html = response.content.decode()
    assert html.index(OTHER_TAGS) == HEAD_LIMIT - 40  # starts inside the limit, ends past it
    assert response.content.endswith(OTHER_TAGS.encode() + b"</head><body></body></html>")
    assert len(trace_meta_elements(html)) == 2
    assert "of another trace" not in caplog.text
    assert "the head of the view 'tests.responses_urls.cut_tag' runs past" in caplog.text


def test_the_stale_tags_warning_is_given_once_per_view(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="metatrace")
    for headers in (A, B, A):
        response = client.get("/r/stale-head-again/", headers=headers)
        assert OTHER_TRACE not in response.content.decode()
    warnings = [record.getMessage() for record in caplog.records if record.levelno >= 30]
    assert len(warnings) == 1, warnings
    assert "the view 'tests.responses_urls.stale_head_again'" in warnings[0]


def test_a_page_whose_work_is_headers_only_keeps_its_body() -> None:
    with metatrace.trace_scope(A):
        page = read_page({"content-type": "text/html"}, 200, complete=False)
        assert page is not None and not page.reads_body
        body = STALE_PAGE.encode()
        assert page.body(body, lambda: "unused") is body
        changes = page.header_changes()
    assert set(changes) == {"Server-Timing"}  # no Content-Length, ETag kept


def test_no_header_changes_leave_the_header_list_as_it_is() -> None:
    headers = [("Content-Type", "text/html"), ("ETag", '"1"'), ("etag", '"2"')]
    assert changed_headers(headers, {}) == [
        ("Content-Type", "text/html"),
        ("ETag", '"1"'),
        ("etag", '"2"'),
    ]
    assert changed_headers(headers, {"ETag": None, "Server-Timing": "x"}) == [
        ("Content-Type", "text/html"),
        ("Server-Timing", "x"),
    ]


@pytest.mark.parametrize(
    "timing, kept",
    [
        (f'traceparent;desc="00-{OTHER_TRACE}-0123456789abcdef-01", db;dur=1', "db;dur=1"),
        ('a;desc="x,y", db', 'a;desc="x,y", db'),
        ('a;desc="x\\",y", db', 'a;desc="x\\",y", db'),
        ('a;desc="x\\ y,z", db', 'a;desc="x\\ y,z", db'),
        ('a;desc="",b', 'a;desc="", b'),
        ('a;desc="baggage,sentry-trace", traceparent', 'a;desc="baggage,sentry-trace"'),
        ('baggage;desc="k=v";dur=0, db;dur=1', "db;dur=1"),
    ],
    ids=[
        "traceparent-entry",
        "comma-in-quotes",
        "escaped-quote",
        "escaped-space",
        "empty",
        "names",
        "two-params",
    ],
)
def test_a_cacheable_page_keeps_every_other_entry_exactly(
    client: Client, timing: str, kept: str
) -> None:
    """Entries are split at commas outside quoted-strings (with their escapes) and only the
    trace entries leave; the rest is joined again with ', '."""
    stale = f'sentry-trace;desc="{OTHER_TRACE}-0123456789abcdef-1"'
    response = client.get("/r/public-timed-as-asked/", {"timing": f"{timing},{stale}"}, headers=A)
    assert response["Server-Timing"] == kept


def test_stale_traceparent_alone_is_replaced(client: Client, settings: Any) -> None:
    settings.METATRACE = {**settings.METATRACE, "W3C": True}
    response = client.get("/r/traceparent-only/", headers=A)
    html = response.content.decode()
    assert OTHER_TRACE not in html
    assert parse_trace_meta(html)["traceparent"].split("-")[1] == TRACE_A


CHARSET_HEADS = {
    "charset first": '<!doctype html><html><head><meta charset="utf-8"><title>t</title></head>',
    "after the viewport": (
        '<html><head><meta name="viewport" content="width=device-width">'
        "<meta charset=utf-8><title>t</title></head>"
    ),
    "the http-equiv form": (
        '<html><head><META HTTP-EQUIV="Content-Type" CONTENT="text/html; charset=utf-8">'
        "<title>t</title></head>"
    ),
    "no head tag": '<!doctype html><html><meta charset="utf-8"><title>t</title>',
    "one in a comment first": (
        '<html><head><!-- <meta charset="latin1"> --><meta charset="utf-8"><title>t</title></head>'
    ),
    "after a script": (
        '<html><head><script>init()</script><meta charset="utf-8"><title>t</title></head>'
    ),
    "after a script that writes a comment's start": (
        '<html><head><script>s="<!--"</script><meta charset="utf-8"><title>t</title></head>'
    ),
}


def _tag_before_the_tags(html: str) -> Tag | None:
    """The element right before the injected sentry-trace tag, or None if it comes first."""
    soup = BeautifulSoup(html, "html.parser")
    elements = soup.find_all(True)
    names = [element.get("name") for element in elements]
    before = elements[names.index("sentry-trace") - 1]
    assert isinstance(before, Tag)
    return None if before.name in ("html", "head") else before


@pytest.mark.parametrize("html", CHARSET_HEADS.values(), ids=CHARSET_HEADS)
def test_injection_comes_after_the_meta_charset(html: str) -> None:
    # Browsers look for the encoding in the first 1,024 bytes; a long baggage before the
    # <meta charset> would push it out.
    metatrace.configure(public_key="k", inject=True)
    with metatrace.trace_scope(A):
        page = read_page({"content-type": "text/html"}, 200, complete=True)
        assert page is not None
        body = page.body(html.encode(), lambda: "the page '/charset'").decode()
    before = _tag_before_the_tags(body)
    assert before is not None and before.name == "meta"
    assert "charset" in str(before).lower() and "latin1" not in str(before)
    assert parse_trace_meta(body)["sentry-trace"].startswith(TRACE_A)


@pytest.mark.parametrize(
    "html",
    [
        "<html><head><title>t</title></head>",
        "<html><head><script>document.write('<meta charset=\"x\">')</script></head>",
        '<html><head><!-- <meta charset="latin1"> --><title>t</title></head>',
        '<html><head><title>t</title></head><body><meta charset="utf-8"></body>',
    ],
    ids=["none", "in a script", "in a comment", "in the body"],
)
def test_injection_without_a_meta_charset_comes_right_after_the_head_tag(html: str) -> None:
    metatrace.configure(public_key="k", inject=True)
    with metatrace.trace_scope(A):
        page = read_page({"content-type": "text/html"}, 200, complete=True)
        assert page is not None
        body = page.body(html.encode(), lambda: "the page '/charset'").decode()
    assert _tag_before_the_tags(body) is None
    assert parse_trace_meta(body)["sentry-trace"].startswith(TRACE_A)


def test_injection_after_a_head_tag_with_a_space(client: Client, settings: Any) -> None:
    settings.METATRACE = {**settings.METATRACE, "INJECT": True}
    response = client.get("/r/spaced-head/", headers=A)
    html = response.content.decode()
    assert html.startswith('<html><head ><meta name="sentry-trace" content="' + TRACE_A)
    assert parse_trace_meta(html)["sentry-trace"].startswith(TRACE_A)


def test_the_stale_tags_warning_stops_after_1000_pages(caplog: pytest.LogCaptureFixture) -> None:
    """The set of pages already warned about is bounded: 1000 pages, then no more warnings."""
    saved = set(responses._warned)
    responses._warned.clear()
    caplog.set_level(logging.WARNING, logger="metatrace")
    try:
        with metatrace.trace_scope(A):
            for number in range(1001):
                page = read_page({"content-type": "text/html"}, 200, complete=True)
                assert page is not None
                fixed = page.body(STALE_PAGE.encode(), lambda number=number: f"page {number}")
                assert OTHER_TRACE.encode() not in fixed
        warned = [record.getMessage().split(" rendered")[0] for record in caplog.records]
        assert warned == [f"metatrace: page {number}" for number in range(1000)]
    finally:
        responses._warned.clear()
        responses._warned.update(saved)


@pytest.mark.parametrize("before", ["", "<!doctype html><html><head>"], ids=["at-0", "in-head"])
def test_stale_tags_are_replaced_byte_for_byte(before: str) -> None:
    """Only the stale tags change: this trace's tags where the first one was, the rest of
    the page exactly as it was, even when the page starts with a tag (a fragment)."""
    after = "<title>t</title></head><body><p>x</p></body></html>"
    with metatrace.trace_scope(A) as trace:
        page = read_page({"content-type": "text/html"}, 200, complete=True)
        assert page is not None
        fixed = page.body(f"{before}{OTHER_TAGS}{after}".encode(), lambda: "a fragment")
        assert fixed.decode() == f"{before}{trace.meta()}{after}"


# Which Server-Timing values hold trace entries: any of the three names, in any case ----------


@pytest.mark.parametrize(
    "timing, kept",
    [
        ("db;dur=53,cache;dur=1", "db;dur=53,cache;dur=1"),  # no trace entry: left exactly as it is
        ('BAGGAGE;desc="sentry-trace_id=x",db;dur=53', "db;dur=53"),
        ('TraceParent;desc="00-x",db;dur=53', "db;dur=53"),
        ('Sentry-Trace;desc="x",db;dur=53', "db;dur=53"),
    ],
    ids=["none", "baggage", "traceparent", "sentry-trace"],
)
def test_a_cacheable_page_loses_each_kind_of_trace_entry(
    client: Client, timing: str, kept: str
) -> None:
    response = client.get("/r/public-timed-as-asked/", {"timing": timing}, headers=A)
    assert response["Server-Timing"] == kept


@pytest.mark.parametrize("name", ["baggage", "TRACEPARENT"])
def test_an_old_entry_of_one_name_alone_is_replaced(name: str) -> None:
    with metatrace.trace_scope(A) as trace:
        page = read_page(
            {"content-type": "text/html", "server-timing": f'{name};desc="old", db;dur=1'},
            200,
            complete=True,
        )
        assert page is not None
        timing = page.header_changes()["Server-Timing"]
    assert timing is not None
    entries = parse_server_timing(timing)
    assert ("db", {"dur": "1"}) in entries
    assert {"desc": "old"} not in [params for _, params in entries]
    assert dict(entries)["sentry-trace"]["desc"].startswith(trace.trace_id)


def test_repeated_headers_are_read_as_one_list() -> None:
    assert responses.header_map(
        [("Server-Timing", "a;dur=1"), ("server-timing", "b;dur=2"), ("X-One", "1")]
    ) == {"server-timing": "a;dur=1, b;dur=2", "x-one": "1"}


# Where the warning about stale tags says they were ---------------------------------------------


@pytest.mark.asyncio
async def test_an_async_view_with_stale_tags_is_named_in_the_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="metatrace")
    responses._warned.clear()
    try:
        response = await AsyncClient().get("/r/async-stale-head/", headers=A)
    finally:
        seen = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        responses._warned.clear()
    assert parse_trace_meta(response.content.decode())["sentry-trace"].startswith(TRACE_A)
    assert len(seen) == 1 and "the view 'tests.responses_urls.async_stale_head'" in seen[0], seen


def test_a_page_off_the_common_path_with_stale_tags_is_named_in_the_warning(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="metatrace")
    responses._warned.clear()
    try:
        response = client.get("/r/stale-head-timed/", headers=A)  # has its own Server-Timing
    finally:
        seen = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        responses._warned.clear()
    assert parse_trace_meta(response.content.decode())["sentry-trace"].startswith(TRACE_A)
    assert other_entries(response) == parse_server_timing(EXISTING_TIMING)
    assert len(seen) == 1 and "the view 'tests.responses_urls.stale_head_timed'" in seen[0], seen


def test_a_page_made_before_any_url_is_resolved_is_named_by_its_path(
    client: Client, settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    settings.MIDDLEWARE = [
        "metatrace.middleware.TraceMiddleware",
        "tests.responses_urls.early_stale_page",
    ]
    caplog.set_level(logging.WARNING, logger="metatrace")
    responses._warned.clear()
    try:
        response = client.get("/no/such/page/", headers=A)
    finally:
        seen = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        responses._warned.clear()
    assert parse_trace_meta(response.content.decode())["sentry-trace"].startswith(TRACE_A)
    assert len(seen) == 1 and "the page '/no/such/page/'" in seen[0], seen


# Where the head ends: its first end tag, in any case, or the body's start tag ----------------


def _fixed(html: str, *, inject: bool = False) -> tuple[str, str]:
    """`html` as the response side leaves it under trace A, and A's own tags."""
    metatrace.configure(inject=inject)
    with metatrace.trace_scope(A) as trace:
        page = read_page({"content-type": "text/html"}, 200, complete=True)
        assert page is not None
        return page.body(html.encode(), lambda: "a page").decode(), str(trace.meta())


@pytest.mark.parametrize("end", ["</head>", "</HEAD>", "<body>", "<BODY class=x>"])
def test_tags_after_the_head_are_left_alone(end: str) -> None:
    # A stale pair after the head, and a script that names the head's end tag again.
    html = f'<html><head><title>t</title>{end}<p>{OTHER_TAGS}</p><script>s="</head>"</script>'
    assert _fixed(html)[0] == html


@pytest.mark.parametrize("end", ["</head>", "</HEAD>", "<body>", "<BODY class=x>"])
@pytest.mark.parametrize("after", [f"<p>{OTHER_TAGS}</p></head>", "<p>x</p><head></head>"])
def test_a_page_that_starts_where_a_head_ends_has_no_head_to_fix(end: str, after: str) -> None:
    html = f"{end}{after}"
    assert _fixed(html, inject=True)[0] == html


def test_a_fragment_that_starts_with_its_head_gets_the_tags_in_it() -> None:
    fixed, ours = _fixed("<head><title>t</title></head><p>x</p>", inject=True)
    assert fixed == f"<head>{ours}<title>t</title></head><p>x</p>"


BAGGAGE_TAG = '<meta name="baggage" content="sentry-trace_id=x">'


@pytest.mark.parametrize(
    "html",
    [f"<html><head>{BAGGAGE_TAG}</head><body></body>", f"{BAGGAGE_TAG}<head></head>"],
    ids=["in-head", "at-0"],
)
def test_a_page_with_a_baggage_tag_of_its_own_gets_no_more_tags(html: str) -> None:
    assert _fixed(html, inject=True)[0] == html


def test_a_trace_without_tags_leaves_the_page_and_its_etag_alone() -> None:
    """A trace started with no key and no W3C tag renders nothing to inject."""
    metatrace.configure(inject=True)
    with metatrace.trace_scope({}) as trace:
        assert str(trace.meta()) == ""
        headers = {"content-type": "text/html", "etag": '"1"', "content-length": "27"}
        page = read_page(headers, 200, complete=True)
        assert page is not None
        html = b"<html><head></head></html>"
        assert page.body(html, lambda: "a page") is html
        assert "ETag" not in page.header_changes()


@pytest.mark.parametrize(
    "order", [("ours", "other"), ("ours", "other", "ours")], ids=["ours-other", "ours-other-ours"]
)
def test_a_stale_pair_after_this_traces_own_is_replaced(order: tuple[str, ...]) -> None:
    with metatrace.trace_scope(A) as trace:
        shown = {"ours": str(trace.meta()), "other": OTHER_TAGS}
    fixed, ours = _fixed(f"<html><head>{''.join(shown[tags] for tags in order)}</head></html>")
    assert fixed == f"<html><head>{ours}</head></html>"


def test_this_traces_tags_in_the_head_and_stale_ones_after_it_are_left_alone(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with metatrace.trace_scope(A) as trace:
        html = f"<html><head>{trace.meta()}</head><body>{OTHER_TAGS}</body></html>".encode()
        page = read_page({"content-type": "text/html"}, 200, complete=True)
        assert page is not None
        assert page.body(html, lambda: "a page") is html
    assert "stale" not in caplog.text


@pytest.mark.parametrize("case", [str.lower, str.upper], ids=["lower", "upper"])
def test_a_head_without_tags_gets_them_even_when_the_body_shows_this_traces(
    case: Callable[[str], str],
) -> None:
    """The head is where the browser SDK looks; tags elsewhere do not stand in for it."""
    with metatrace.trace_scope(A) as trace:
        shown = str(trace.meta())
    html = f"{case('<html><head>')}<title>t</title>{case('</head><body>')}{shown}</body></html>"
    fixed, ours = _fixed(html, inject=True)
    soup = BeautifulSoup(fixed, "html.parser")
    assert soup.head is not None and soup.body is not None
    assert [tag["name"] for tag in soup.head.find_all("meta")] == ["sentry-trace", "baggage"]
    assert fixed == html.replace(case("<head>"), case("<head>") + ours, 1)


def test_a_stale_pair_before_this_traces_own_is_still_replaced() -> None:
    """Stale tags are found even when this trace's own come after them."""
    with metatrace.trace_scope(A) as trace:
        shown = str(trace.meta())
    fixed, ours = _fixed(f"<html><head>{OTHER_TAGS}{shown}</head><body></body></html>")
    assert fixed == f"<html><head>{ours}</head><body></body></html>"
    assert OTHER_TRACE not in fixed


def test_stale_tags_are_replaced_in_a_page_without_a_content_length(
    client: Client, settings: Any
) -> None:
    # No CommonMiddleware: Django's HttpResponse is whole in hand, with or without the header.
    settings.MIDDLEWARE = ["metatrace.middleware.TraceMiddleware"]
    response = client.get("/r/stale-head/", headers=A)
    assert not response.has_header("Content-Length")
    html = response.content.decode()
    assert OTHER_TRACE not in html
    assert parse_trace_meta(html)["sentry-trace"].startswith(TRACE_A)


@pytest.mark.parametrize("baggage", [True, False], ids=["with-baggage", "sentry-trace-alone"])
def test_a_page_with_this_traces_own_tags_is_left_as_it_is(
    baggage: bool, caplog: pytest.LogCaptureFixture
) -> None:
    """Not rewritten (no copy, no warning) and not given a second pair, even when this trace
    renders a sentry-trace tag alone (no DSC: nothing incoming, no key of ours)."""
    headers = A if baggage else {"sentry-trace": A["sentry-trace"]}
    metatrace.configure(inject=True)
    with metatrace.trace_scope(headers) as trace:
        html = f"<html><head><title>t</title>{trace.meta()}</head><body></body></html>".encode()
        assert (b'name="baggage"' in html) is baggage
        page = read_page({"content-type": "text/html"}, 200, complete=True)
        assert page is not None
        assert page.body(html, lambda: "a page") is html
    assert "stale" not in caplog.text


@pytest.mark.parametrize("encoding", ["", " identity ", "IDENTITY"])
def test_a_page_without_a_real_content_encoding_is_read(encoding: str) -> None:
    with metatrace.trace_scope(A):
        page = read_page(
            {"content-type": "text/html", "content-encoding": encoding}, 200, complete=True
        )
        assert page is not None and page.reads_body


@pytest.mark.parametrize(
    "timing, work", [("db;dur=53", False), ('db;dur=53,sentry-trace;desc="x"', True)]
)
def test_a_streamed_cacheable_page_has_work_only_when_its_server_timing_names_a_trace(
    timing: str, work: bool
) -> None:
    headers = {"content-type": "text/html", "cache-control": "public, max-age=60"}
    with metatrace.trace_scope(A):
        page = read_page({**headers, "server-timing": timing}, 200, complete=False)
        assert (page is not None) is work
        if page is not None:
            assert page.header_changes() == {"Server-Timing": "db;dur=53"}


# Which responses are stripped, and exactly what stripping removes ----------------

_PAST, _DATE, _FUTURE = (http_date(time.time() + delta) for delta in (-3600, 0, 3600))


def test_only_html_is_stripped() -> None:
    from metatrace._pages.responses import Work, header_map, read_page

    def work(*headers: tuple[str, str]) -> Work | None:
        page = read_page(header_map(headers), 200, complete=True)
        return None if page is None else page.work

    public = ("Cache-Control", "public, max-age=60")
    assert work(public, ("Content-Type", "text/html; charset=utf-8")) is Work.STRIP
    assert work(public, ("Content-Type", "video/mp4")) is None
    assert work(public) is None
    assert work(("Expires", _FUTURE), ("Content-Type", "text/html")) is Work.STRIP
    assert work(("Expires", _PAST), ("Content-Type", "text/html")) is Work.HEAD
    assert (
        work(
            ("Cache-Control", "no-cache"),
            ("Cache-Control", "s-maxage=5"),
            ("Content-Type", "application/xhtml+xml"),
        )
        is Work.STRIP
    )


@pytest.mark.parametrize(
    "headers, strip",
    [
        ([("cache-control", "public"), ("content-type", "TEXT/HTML")], True),
        ([("CACHE-CONTROL", "public"), ("CONTENT-TYPE", "text/html")], True),
        ([("Cache-Control", "public"), ("Content-Type", "text/htm")], False),
        ([("Cache-Control", "public"), ("Content-Type", "application/xhtml+xml")], True),
        ([("Cache-Control", "public"), ("Content-Type", "application/xml")], False),
        ([("Cache-Control", "public"), ("Content-Type", "text/html"), ("X", "private")], True),
        (
            [
                ("Cache-Control", "public"),
                ("Content-Type", "text/html"),
                ("Content-Encoding", " Identity "),
            ],
            True,
        ),
        (
            [
                ("Cache-Control", "public"),
                ("Content-Type", "text/html"),
                ("Content-Encoding", "br"),
            ],
            False,
        ),
        (
            [
                ("Cache-Control", "max-age=0"),
                ("Cache-Control", "public"),
                ("Content-Type", "text/html"),
            ],
            True,
        ),
        (
            [
                ("Cache-Control", "public"),
                ("Cache-Control", "private"),
                ("Content-Type", "text/html"),
            ],
            False,
        ),
    ],
    ids=[
        "lowercase-names",
        "uppercase-names",
        "not-html",
        "xhtml",
        "xml",
        "other-header-says-private",
        "identity-encoding",
        "brotli",
        "repeated-cache-control-public",
        "repeated-cache-control-private",
    ],
)
def test_which_responses_need_stripping(headers: list[tuple[str, str]], strip: bool) -> None:
    assert needs_stripping(headers) is strip


def test_a_compressed_cacheable_page_warns_on_the_metatrace_logger(
    caplog: pytest.LogCaptureFixture,
) -> None:
    headers = [("Cache-Control", "public"), ("Content-Type", "text/html")]
    with caplog.at_level(logging.WARNING, logger="metatrace"):
        assert not needs_stripping([*headers, ("Content-Encoding", "br")])
    (record,) = caplog.records
    assert (record.name, record.levelno) == ("metatrace", logging.WARNING)
    message = record.getMessage()
    assert message.startswith("metatrace: ")
    assert "(br)" in message  # which encoding it met
    assert message.endswith("(GZipMiddleware above TraceMiddleware)")  # the fix, verbatim


def strip_trace_meta(body: bytes) -> bytes:
    """`body` as the response side sends it when a shared cache may store the page."""
    page = read_page({"content-type": "text/html", "cache-control": "public"}, 200, complete=True)
    assert page is not None and page.strips
    return page.body(body, lambda: "a shared-cacheable page")


def test_stripping_removes_the_three_rendered_tags_and_nothing_else() -> None:
    metatrace.configure(public_key="abc", w3c=True)
    baggage = f"sentry-trace_id={INCOMING_TRACE},sentry-release=a%22b%3Cc%3E,k=v"
    context = TraceContext(f"{INCOMING_TRACE}-{INCOMING_SPAN}-1", baggage)
    tags = str(context.meta()).encode()
    assert len(parse_trace_meta(tags.decode())) == 3
    # Everything around the tags, including near misses that must stay exactly as they are.
    keep = [
        b"<!doctype html><html><head>\n",
        b'<meta name="description" content="sentry-trace">',
        b'<meta name="sentry-trace" content="x" >',  # not metatrace's own spelling
        b'<meta name="sentry-traces" content="x">',
        b'<META NAME="baggage" CONTENT="x">',
        b"<meta name='traceparent' content='x'>",
        b'<meta content="x" name="baggage">',
        b'<meta name="baggage" content="a>b">',
        b'<meta name="baggage" content="a<b">',
        b'<meta name="baggage" content="x" data-x="y">',
        b'<meta name="baggage">',
        b"\n\t",
        b'<p>&lt;meta name="baggage" content="x"&gt;</p>',
        "<p>caf\u00e9 \u2603</p>".encode(),
        b"</head><body></body></html>",
    ]
    page = keep[0] + tags + b"".join(keep[1:5]) + tags + b"".join(keep[5:]) + tags
    assert strip_trace_meta(page) == b"".join(keep)


@pytest.mark.parametrize(
    "tag",
    [
        b'<meta name="sentry-trace" content="">',
        b'<meta name="baggage" content="sentry-release=a&amp;b,k=%22">',
        b'<meta name="traceparent" content="00-x-y-01">',
    ],
)
def test_stripping_removes_each_tag_metatrace_renders(tag: bytes) -> None:
    assert strip_trace_meta(b"<head>" + tag + tag + b"</head>") == b"<head></head>"


def test_a_stripped_django_page_differs_from_the_unstripped_one_by_exactly_the_tags(
    client: Client, settings: Any
) -> None:
    settings.METATRACE = {"PUBLIC_KEY": "abc", "W3C": True}
    headers = {"sentry-trace": f"{INCOMING_TRACE}-{INCOMING_SPAN}-1"}
    private = client.get("/t/private/", headers=headers).content
    public = client.get("/t/public/", headers=headers).content
    tags = re.findall(rb'<meta name="(?:sentry-trace|baggage|traceparent)"[^>]*>', private)
    assert len(tags) == 3
    unstripped = private
    for tag in tags:
        unstripped = unstripped.replace(tag, b"")
    assert public.replace(b"public", b"private") == unstripped.replace(b"public", b"private")


# An app's own Server-Timing entries ----------------------------------------------

PAGE = {"content-type": "text/html"}


@pytest.mark.parametrize("metric", [False, True])
def test_an_apps_own_trace_entry_stays_unless_metatrace_renders_one(metric: bool) -> None:
    # An app may time something it calls "trace"; only the setting makes the name metatrace's.
    metatrace.configure(public_key="abc", trace_metric=metric)
    with metatrace.trace_scope({}) as context:
        page = read_page({**PAGE, "server-timing": "app;dur=1, trace;dur=5"}, 200, complete=True)
        assert page is not None
        timing = page.header_changes()["Server-Timing"]
    assert timing is not None
    metrics, _ = metatrace._core.timing.parse_server_timing([timing])
    traces = [entry.params for entry in metrics if entry.name == "trace"]
    ours = {"desc": context.traceparent}
    assert traces == ([ours] if metric else [{"dur": "5"}])
    assert [entry.name for entry in metrics][:2] == ["app", "sentry-trace" if metric else "trace"]


def test_a_server_timing_that_names_no_trace_is_left_as_it_was() -> None:
    # It mentions "trace" (a shared page's Server-Timing is read for trace entries to remove).
    timing = 'app;desc="stacktrace",  db;dur=2'
    headers = {**PAGE, "cache-control": "public, max-age=60", "server-timing": timing}
    with metatrace.trace_scope({}):
        page = read_page(headers, 200, complete=False)
        assert page is not None and page.header_changes() == {}


# Elastic's page-load script, stale ------------------------------------------------

ELASTIC_STALE = (
    ELASTIC.split("out = {{")[0]
    + """
import logging
from metatrace._pages.responses import read_page
logging.basicConfig(level=logging.WARNING, format="%(message)s")
transaction = client.begin_transaction("request")
other = "{other}" or transaction.trace_parent.trace_id  # "": this request's own
stale = ('<script type="application/json" id="elastic-apm-page-load">'
    '{{"pageLoadTraceId":"' + other + '"}}</script>')
page = read_page({{"content-type": "text/html"}}, 200, complete=True)
head = "<html><head>" + stale * {count} + "</head></html>"
body = page.body(head.encode(), lambda: "the page '/e'")
print(json.dumps({{"body": body.decode(), "trace": transaction.trace_parent.trace_id}}))
client.end_transaction("GET /")
client.close()
"""
)


def test_a_stale_elastic_script_is_replaced_and_quoted_in_the_warning() -> None:
    other = "0123456789abcdef0123456789abcdef"
    code = ELASTIC_STALE.format(source="elasticapm", rate=1.0, parent=None, other=other, count=1)
    result = run_python(f"import os; os.environ['SETUP_RECORD'] = '/dev/null'\n{code}")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    [script] = BeautifulSoup(out["body"], "html.parser").find_all("script")
    assert json.loads(script.get_text())["pageLoadTraceId"] == out["trace"]
    [warning] = [line for line in result.stderr.splitlines() if "another trace" in line]
    assert warning.startswith(
        "metatrace: the page '/e' rendered the trace tags of another trace ('<script "
        f'type="application/json" id="elastic-apm-page-load">{{"pageLoadTraceId":"{other}"}}'
    )


def test_this_requests_elastic_script_repeated_is_kept_once_with_a_warning() -> None:
    code = ELASTIC_STALE.format(source="elasticapm", rate=1.0, parent=None, other="", count=2)
    result = run_python(f"import os; os.environ['SETUP_RECORD'] = '/dev/null'\n{code}")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    [script] = BeautifulSoup(out["body"], "html.parser").find_all("script")
    assert json.loads(script.get_text())["pageLoadTraceId"] == out["trace"]
    [warning] = [line for line in result.stderr.splitlines() if "metatrace:" in line]
    assert warning.startswith("metatrace: the page '/e' rendered the trace tags more than once")


# carry_head, the common page's path, is a twin of OutgoingPage.body and header_changes: both
# make the same page of the same body.
TWIN_PAGES = {
    "tags": b"<!doctype html><html><head>{tags}<title>t</title></head><body></body></html>",
    "none": b"<!doctype html><html><head><title>t</title></head><body><p>x</p></body></html>",
    "charset": b'<html><head><meta charset="utf-8"><title>t</title></head></html>',
    "stale": b"<html><head>" + OTHER_TAGS.encode() + b"<title>t</title></head></html>",
    "twice": b"<html><head>{tags}{tags}</head></html>",
    "long": b"<html><head>" + LONG_COMMENT.encode() + b"{tags}</head></html>",
    "fragment": b"<div>" + b"x" * 9000 + b"</div>",
}


@pytest.mark.parametrize("inject", [False, True], ids=["", "inject"])
@pytest.mark.parametrize("page", TWIN_PAGES)
def test_the_common_pages_path_makes_what_the_general_one_makes(page: str, inject: bool) -> None:
    metatrace.configure(public_key="k", w3c=True, inject=inject)
    with metatrace.trace_scope(A) as trace:
        body = TWIN_PAGES[page].replace(b"{tags}", str(trace.meta()).encode())
        fast, timing = responses.carry_head(body, lambda: "the page '/twin'")
        general = read_page({"content-type": "text/html"}, 200, complete=True)
        assert general is not None and general.work is responses.Work.HEAD
        assert fast == general.body(body, lambda: "the page '/twin'")
        assert timing == general.header_changes()["Server-Timing"]


# Elastic's script on the common page's path ------------------------------------------------

ELASTIC_COMMON = (
    ELASTIC.split("out = {{")[0]
    + """
import logging
from metatrace._pages import responses
logging.basicConfig(level=logging.WARNING, format="%(message)s")
transaction = client.begin_transaction("request")
own = str(metatrace.elastic_page_load())
trace = transaction.trace_parent.trace_id
stale = own.replace(trace, "0123456789abcdef0123456789abcdef")
out = {{"trace": trace}}
for name, script in (("stale", stale), ("own", own)):
    body = ("<html><head>" + script + "</head><body></body></html>").encode()
    new, _ = responses.carry_head(body, lambda name=name: "the page '/" + name + "'")
    out[name] = [new.decode(), new is body]
print(json.dumps(out))
client.end_transaction("GET /")
client.close()
"""
)


def test_the_common_pages_path_replaces_a_stale_elastic_script_and_keeps_this_requests() -> None:
    code = ELASTIC_COMMON.format(source="elasticapm", rate=1.0, parent=None)
    result = run_python(f"import os; os.environ['SETUP_RECORD'] = '/dev/null'\n{code}")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    stale, stale_kept = out["stale"]
    [script] = BeautifulSoup(stale, "html.parser").find_all("script")
    assert json.loads(script.get_text())["pageLoadTraceId"] == out["trace"]
    assert not stale_kept
    own, own_kept = out["own"]
    assert own_kept and out["trace"] in own  # the very body: not rewritten
    warnings = [line for line in result.stderr.splitlines() if line.startswith("metatrace:")]
    assert len(warnings) == 1, warnings
    assert warnings[0].startswith(
        "metatrace: the page '/stale' rendered the trace tags of another trace ('<script "
    )


def test_the_common_pages_path_reads_the_settings_when_nothing_has_yet(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Like every reader of the settings, it reads Sentry's environment variables first.
    monkeypatch.setenv("SENTRY_DSN", DSN)
    monkeypatch.setattr(metatrace._core.config, "configured", None)
    body = STALE_PAGE.encode()
    new, timing = responses.carry_head(body, lambda: "the page '/first'")
    tags = parse_trace_meta(new.decode())
    assert decode_baggage(tags["baggage"])["public_key"] == "5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e"
    assert OTHER_TRACE not in new.decode()
    assert dict(parse_server_timing(timing))["sentry-trace"]["desc"] == tags["sentry-trace"]


# Comments and scripts in the head: each is skipped once, to its own end ----------------------


def _fixed_in_time(html: str, *, inject: bool) -> tuple[str, str]:
    """`_fixed(html)`, given 10 seconds: a scan that goes back to where it was never ends."""
    done: list[tuple[str, str]] = []
    reader = threading.Thread(target=lambda: done.append(_fixed(html, inject=inject)), daemon=True)
    reader.start()
    reader.join(10)
    assert done, "the head is still being read"
    return done[0]


CHARSET = '<meta charset="utf-8">'
HEADS_READ_TO_THEIR_END = {
    "two comments, then stale tags": (
        f"<html><head><!-- a --><!-- b -->{OTHER_TAGS}</head><body></body></html>",
        OTHER_TAGS,
    ),
    "stale tags between two comments": (
        f"<html><head><!-- a -->{OTHER_TAGS}<!-- b --></head><body></body></html>",
        OTHER_TAGS,
    ),
    "a second script that ends by naming the head's end": (
        "<html><head><script>a()</script><script>s='</head>'</script>"
        f"{OTHER_TAGS}</head><body></body></html>",
        OTHER_TAGS,
    ),
    "a comment before the page, one in its head, then the charset": (
        f"<!-- a --><html><head><!-- b -->{CHARSET}<title>t</title></head><body></body></html>",
        CHARSET,
    ),
}


@pytest.mark.parametrize(
    "html, after", HEADS_READ_TO_THEIR_END.values(), ids=HEADS_READ_TO_THEIR_END
)
def test_a_head_is_read_past_each_comment_and_script_to_its_end(html: str, after: str) -> None:
    """Stale tags after (or between) comments and scripts are replaced where they were; a
    head without tags gets them after its charset."""
    stale = after == OTHER_TAGS
    fixed, ours = _fixed_in_time(html, inject=not stale)
    assert fixed == html.replace(after, ours if stale else after + ours, 1)


SCRIPTS_AROUND_THE_HEADS_END = [
    # Scripts closed before the head's end: the end is the head's; tags after it are content.
    "<html><head><script>a()</script><script>b()</script><title>t</title></head>"
    f"<body><script>c()</script>{OTHER_TAGS}</body></html>",
    "<html><head><script>a()</script><title>t</title>"
    f"<body class=x><script>c()</script>{OTHER_TAGS}</body></html>",
]


@pytest.mark.parametrize("html", SCRIPTS_AROUND_THE_HEADS_END, ids=["end-tag", "body-tag"])
def test_the_heads_end_after_its_scripts_is_its_end(html: str) -> None:
    assert _fixed(html)[0] == html


def test_a_script_that_starts_the_page_is_skipped_to_its_end() -> None:
    # A script before <html> (a theme switch, say) that writes a body tag: no head end.
    html = (
        "<script>if (dark) document.write('<body class=dark>')</script>"
        f"<html><head>{OTHER_TAGS}</head><body></body></html>"
    )
    fixed, ours = _fixed(html)
    assert fixed == html.replace(OTHER_TAGS, ours)


# Where the tags go in a page without a head start tag -------------------------------------

WHERE_THE_HEAD_BEGINS = {
    "after <html>": ("<html lang=en><title>t</title></html>", "<html lang=en>"),
    "after the doctype": ("<!doctype html><title>t</title><p>x</p>", "<!doctype html>"),
    "after the doctype, not a script's <html>": (
        "<!doctype html><title>t</title><body><script>w.document.write('<html>')</script>",
        "<!doctype html>",
    ),
    "nowhere: only a script's doctype": (
        "<title>t</title><body><script>w.document.write('<!doctype html>')</script>",
        "",
    ),
}


@pytest.mark.parametrize("html, before", WHERE_THE_HEAD_BEGINS.values(), ids=WHERE_THE_HEAD_BEGINS)
def test_a_page_without_a_head_tag_gets_the_tags_where_its_head_begins(
    html: str, before: str
) -> None:
    fixed, ours = _fixed(html, inject=True)
    assert fixed == (html.replace(before, before + ours, 1) if before else html)


@pytest.mark.parametrize("size", [HEAD_LIMIT - 1, HEAD_LIMIT])
def test_a_head_that_fills_the_bound_gets_no_tags_injected(
    size: int, caplog: pytest.LogCaptureFixture
) -> None:
    """A start of HEAD_LIMIT bytes (what an adapter holds at most) may go on with tags of its
    own: no more is read, so none are injected. A page a byte shorter is whole."""
    caplog.set_level(logging.WARNING, logger="metatrace")
    start = "<html><head><title>"
    html = start + "x" * (size - len(start))  # a head that does not end
    fixed, ours = _fixed(html, inject=True)
    assert fixed == (html if size == HEAD_LIMIT else html.replace("<head>", "<head>" + ours))
    assert ("runs past the first" in caplog.text) is (size == HEAD_LIMIT)


# The warning's quote ---------------------------------------------------------------------------


def test_the_warning_quotes_the_tag_of_another_trace_not_this_traces_own_before_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="metatrace")
    with metatrace.trace_scope(A) as trace:
        shown = str(trace.meta())
    _fixed(f"<html><head>{shown}{OTHER_TAGS}</head></html>")
    assert (
        f'another trace (\'<meta name="sentry-trace" content="{OTHER_TRACE}-0123456789abcdef-1">'
        "'), so they were replaced"
    ) in caplog.text


def test_the_warning_quotes_200_characters_of_a_long_tag_with_its_bytes_past_ascii_replaced(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="metatrace")
    baggage = f'<meta name="baggage" content="sentry-trace_id={OTHER_TRACE},sentry-release=caf'
    html = f'<html><head>{baggage}\u00e9-{"x" * 300}">{OTHER_TAGS}</head></html>'
    fixed, ours = _fixed(html)
    assert OTHER_TRACE not in fixed and ours in fixed
    quoted = (baggage + "\ufffd\ufffd-" + "x" * 300)[:200]  # é is two bytes in UTF-8
    assert f"another trace ({quoted!r}), so they were replaced" in caplog.text


def test_a_tag_of_this_trace_that_metatrace_did_not_write_is_replaced_and_quoted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Written by hand with a space before the id: not this trace's tag as metatrace renders it.
    caplog.set_level(logging.WARNING, logger="metatrace")
    written = f'<meta name="sentry-trace" content=" {TRACE_A}-{"1" * 16}-1">'
    fixed, ours = _fixed(f"<html><head>{written}</head></html>")
    assert fixed == f"<html><head>{ours}</head></html>"
    assert f"another trace ({written!r}), so they were replaced" in caplog.text


# Fragments: no head, so not read ---------------------------------------------------------------

FRAGMENT = ("<div>" + OTHER_TAGS + "<p>row</p>" * 2000 + "</div>").encode()


def test_a_fragment_is_not_read(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="metatrace")
    metatrace.configure(inject=True)
    with metatrace.trace_scope(A):
        page = read_page({"content-type": "text/html"}, 200, complete=True)
        assert page is not None
        assert page.body(FRAGMENT, lambda: "a fragment") is FRAGMENT
    assert caplog.text == ""


@pytest.mark.parametrize("cut", [8192, 8193, 9000])
def test_a_fragments_start_that_is_enough_is_given_what_the_whole_fragment_is(cut: int) -> None:
    """An adapter holds a page's start until `head_seen()`; what that start is given must be
    what the whole page would be. A fragment's start is enough once it is past 8 KB."""
    start, rest = FRAGMENT[:cut], FRAGMENT[cut:]
    seen = responses.head_seen(start)
    assert seen or cut <= 8192  # not held back past 8 KB
    metatrace.configure(inject=True)
    with metatrace.trace_scope(A):
        page = read_page({"content-type": "text/html"}, 200, complete=True)
        assert page is not None
        if seen:
            assert page.body(start, lambda: "a fragment") + rest == FRAGMENT
