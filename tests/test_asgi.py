"""metatrace/asgi.py: the ASGI middleware, through Starlette's real test client and raw apps."""

from __future__ import annotations

import warnings
from collections.abc import AsyncIterator, Iterator
from typing import Any

import jinja2
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, StreamingResponse
from starlette.routing import Route, WebSocketRoute
from starlette.templating import Jinja2Templates
from starlette.websockets import WebSocket

import metatrace
import metatrace.asgi
from metatrace.jinja import TraceMetaExtension
from tests.adapter_pages import (
    HEAD_CHUNKS,
    HEADERS,
    NO_TAGS,
    OTHER,
    PAGE,
    STALE_HEAD,
    TIMING,
    L,
    _continued,
    _entries,
    _page_text,
)
from tests.conftest import INCOMING_TRACE, parse_trace_meta, trace_meta_elements
from tests.timing_reader import parse_server_timing
from tests.tracers import otel_source, otel_traceparent

with warnings.catch_warnings():
    # Starlette 1.x suggests httpx2 for its test client; httpx still works, and we use it.
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

pytestmark = pytest.mark.usefixtures("_warnings_given_anew")

templates = Jinja2Templates(
    env=jinja2.Environment(
        loader=jinja2.DictLoader({"page.html": PAGE}),
        extensions=[TraceMetaExtension],
        autoescape=True,
    )
)


async def page(request: Request) -> HTMLResponse:
    trace = request.scope["metatrace"]
    assert metatrace.get_active() is trace
    return templates.TemplateResponse(request, "page.html", {"text": trace.span_id})


def sync_page(request: Request) -> HTMLResponse:
    # Starlette runs sync endpoints in a thread, with a copy of the request's context.
    return templates.TemplateResponse(request, "page.html", {"text": "sync"})


async def stream(request: Request) -> StreamingResponse:
    async def body() -> AsyncIterator[str]:
        yield "<html><head>"
        yield str(metatrace.trace_meta())
        yield "</head><body>streamed</body></html>"

    return StreamingResponse(body(), media_type="text/html")


async def cached(request: Request) -> HTMLResponse:
    return templates.TemplateResponse(
        request, "page.html", {"text": "cached"}, headers={"Cache-Control": "s-maxage=60"}
    )


async def traced(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_text(metatrace.get_traceparent())
    await websocket.close()


async def lifespan_free(request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


starlette_app = Starlette(
    routes=[
        Route("/", page),
        Route("/sync", sync_page),
        Route("/stream", stream),
        Route("/cached", cached),
        Route("/plain", lifespan_free),
        WebSocketRoute("/ws", traced),
    ],
    middleware=[Middleware(metatrace.asgi.TraceMiddleware)],
)


@pytest.fixture
def client() -> Iterator[TestClient]:
    with TestClient(starlette_app) as client:  # runs the lifespan too
        yield client


@pytest.mark.parametrize("path", ["/", "/sync", "/stream"])
def test_starlette_page_continues_the_trace(client: TestClient, path: str) -> None:
    response = client.get(path, headers=HEADERS)
    assert response.status_code == 200
    _continued(response.text)


def test_starlette_requests_do_not_share_a_trace(client: TestClient) -> None:
    metatrace.configure(public_key="abc")
    first = parse_trace_meta(client.get("/").text)["sentry-trace"]
    second = parse_trace_meta(client.get("/").text)["sentry-trace"]
    assert first[:32] != second[:32]


def test_starlette_shared_cacheable_page_loses_its_tags(client: TestClient) -> None:
    response = client.get("/cached", headers=HEADERS)
    assert parse_trace_meta(response.text) == {}
    assert response.headers["content-length"] == str(len(response.content))
    assert "<body>cached</body>" in response.text
    assert _page_text(response.text) == "cached"  # the rest of the page is intact
    assert client.get("/plain").text == "ok"  # other responses pass straight through


def test_starlette_websocket_continues_the_trace(client: TestClient) -> None:
    with client.websocket_connect("/ws", headers=HEADERS) as websocket:
        assert websocket.receive_text().startswith(INCOMING_TRACE)


@pytest.mark.asyncio
async def test_asgi_restores_the_previous_context() -> None:
    outer = metatrace.continue_trace({})
    seen = []

    async def app(scope: object, receive: object, send: object) -> None:
        seen.append(metatrace.get_active())
        raise RuntimeError("boom")

    scope = {"type": "http", "headers": [(b"sentry-trace", HEADERS["sentry-trace"].encode())]}

    async def receive() -> dict[str, object]:
        return {"type": "http.request"}

    async def send(message: object) -> None:
        pass

    with pytest.raises(RuntimeError):
        await metatrace.asgi.TraceMiddleware(app)(scope, receive, send)  # type: ignore[arg-type]
    assert seen[0] is not outer and seen[0].trace_id == INCOMING_TRACE  # type: ignore[union-attr]
    assert metatrace.get_active() is outer


@pytest.mark.asyncio
async def test_asgi_scope_without_headers_starts_a_fresh_trace() -> None:
    seen: list[metatrace.TraceContext | None] = []

    async def app(scope: Any, receive: object, send: object) -> None:
        seen.append(metatrace.get_active())
        assert scope["metatrace"] is seen[0]

    async def receive() -> dict[str, object]:
        return {"type": "http.request"}

    async def send(message: object) -> None:
        pass

    await metatrace.asgi.TraceMiddleware(app)({"type": "http"}, receive, send)  # type: ignore[arg-type]
    assert seen[0] is not None and len(seen[0].trace_id) == 32
    assert seen[0].trace_id != INCOMING_TRACE


# What an HTML page carries (_pages/responses.py), through Starlette -------------------------


async def fragment_page(request: Request) -> HTMLResponse:
    cache = request.app.state.fragments
    if "head" not in cache:
        cache["head"] = str(metatrace.trace_meta())
    return HTMLResponse(f"<html><head>{cache['head']}</head><body>page</body></html>")


async def no_tags_page(request: Request) -> HTMLResponse:
    return HTMLResponse(NO_TAGS)


async def timed_page(request: Request) -> HTMLResponse:
    cache_control = request.query_params.get("cache-control")
    headers = {
        "Server-Timing": TIMING,
        **({"Cache-Control": cache_control} if cache_control else {}),
    }
    return templates.TemplateResponse(request, "page.html", {"text": "t"}, headers=headers)


pages_app = Starlette(
    routes=[
        Route("/fragment", fragment_page),
        Route("/no-tags", no_tags_page),
        Route("/timed", timed_page),
        Route("/stream", stream),
        Route("/plain", lifespan_free),
    ],
    middleware=[Middleware(metatrace.asgi.TraceMiddleware)],
)
pages_app.state.fragments = {}


@pytest.fixture
def pages_client() -> Iterator[TestClient]:
    pages_app.state.fragments.clear()
    with TestClient(pages_app) as client:
        yield client


def test_starlette_pages_carry_their_tags_in_server_timing(pages_client: TestClient) -> None:
    for path in ("/timed", "/stream"):
        response = pages_client.get(path, headers=HEADERS)
        _continued(response.text)
        assert _entries(response.headers["server-timing"]) == parse_trace_meta(response.text)
    names = [name for name, _ in parse_server_timing(response.headers["server-timing"])]
    assert names == ["sentry-trace", "baggage"]
    timed = pages_client.get("/timed", headers=HEADERS).headers["server-timing"]
    assert timed.startswith(TIMING + ", ")
    assert pages_client.get("/timed").headers["server-timing"] == TIMING  # no trace to carry
    assert "server-timing" not in pages_client.get("/plain", headers=HEADERS).headers


def test_starlette_cacheable_page_keeps_only_the_other_entries(pages_client: TestClient) -> None:
    response = pages_client.get("/timed?cache-control=s-maxage%3D60", headers=HEADERS)
    assert response.headers["server-timing"] == TIMING
    assert parse_trace_meta(response.text) == {}
    assert response.headers["content-length"] == str(len(response.content))


def test_starlette_cached_fragment_shows_each_visitor_its_own_trace(
    pages_client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    metatrace.configure(public_key="abc")
    first = parse_trace_meta(pages_client.get("/fragment").text)
    response = pages_client.get("/fragment", headers=HEADERS)
    assert first["sentry-trace"][:32] != INCOMING_TRACE
    _continued(response.text)
    assert response.headers["content-length"] == str(len(response.content))
    assert "fragment_page rendered the trace tags of another trace" in caplog.text


def test_starlette_page_without_tags_gets_them_with_injection(pages_client: TestClient) -> None:
    assert parse_trace_meta(pages_client.get("/no-tags", headers=HEADERS).text) == {}
    metatrace.configure(inject=True, public_key="abc")
    response = pages_client.get("/no-tags", headers=HEADERS)
    _continued(response.text)
    assert response.text.startswith('<!doctype html><html><head><meta name="sentry-trace"')
    assert response.headers["content-length"] == str(len(response.content))
    streamed = pages_client.get("/stream")  # a stream is never held back: only its own tags
    assert len(trace_meta_elements(streamed.text)) == 2  # sentry-trace and baggage, once


@pytest.mark.asyncio
async def test_asgi_head_gathered_from_many_chunks() -> None:
    metatrace.configure(inject=True, public_key="abc")
    page = NO_TAGS.encode()
    start = {
        "type": "http.response.start",
        "status": 200,
        "headers": [(b"content-type", b"text/html"), (b"content-length", b"%d" % len(page))],
    }
    chunks = [
        {"type": "http.response.body", "body": page[at : at + 7], "more_body": at + 7 < len(page)}
        for at in range(0, len(page), 7)
    ]
    sent = await _asgi_run([start, *chunks], path="/")
    body = b"".join(message.get("body", b"") for message in sent[1:]).decode()
    _continued(body)
    headers = dict(sent[0]["headers"])
    assert headers[b"content-length"] == str(len(body)).encode()
    assert _entries(headers[b"server-timing"].decode()) == parse_trace_meta(body)
    assert sent[-1]["more_body"] is False


async def module_named_fragment_page(request: Request) -> HTMLResponse:
    """A page of its own, so that the warning (once per page) is this test's."""
    return await fragment_page(request)


def test_starlette_stale_tags_warning_names_the_endpoint_with_its_module(
    caplog: pytest.LogCaptureFixture,
) -> None:
    metatrace.configure(public_key="abc")
    app = Starlette(
        routes=[Route("/fragment", module_named_fragment_page)],
        middleware=[Middleware(metatrace.asgi.TraceMiddleware)],
    )
    app.state.fragments = {}
    with TestClient(app) as client:
        client.get("/fragment")
        client.get("/fragment", headers=HEADERS)
    assert (
        "the endpoint tests.test_asgi.module_named_fragment_page rendered the trace tags "
        "of another trace" in caplog.text
    )


# Raw ASGI apps at the adapter's edges: HEAD, statuses, extension messages, where the held head
# ends -------------------------------------------------------------------------------------


async def _asgi_run(
    messages: list[dict[str, Any]], path: str = "/stale", **changes: Any
) -> list[Any]:
    """The messages the server gets when the app sends `messages`, for a GET of `path` that
    carries HEADERS (`changes`: other scope keys)."""

    async def app(scope: object, receive: object, send: Any) -> None:
        for message in messages:
            await send(message)

    sent: list[Any] = []

    async def send(message: object) -> None:
        sent.append(message)

    async def receive() -> dict[str, object]:
        return {"type": "http.request"}

    scope = {
        "type": "http",
        "method": "GET",
        "path": path,
        "headers": [(name.encode(), value.encode()) for name, value in HEADERS.items()],
    }
    scope.update(changes)
    await metatrace.asgi.TraceMiddleware(app)(scope, receive, send)  # type: ignore[arg-type]
    return sent


START = {
    "type": "http.response.start",
    "status": 200,
    "headers": [(b"content-type", b"text/html"), (b"content-length", b"100")],
}


@pytest.mark.asyncio
async def test_asgi_pathsend_after_the_start_sends_the_page_as_it_is() -> None:
    metatrace.configure(public_key="abc")
    pathsend = {"type": "http.response.pathsend", "path": "/srv/page.html"}
    sent = await _asgi_run([START, pathsend])
    assert [message["type"] for message in sent] == ["http.response.start", pathsend["type"]]
    assert sent[1] is pathsend
    headers = dict(sent[0]["headers"])
    assert headers[b"content-length"] == b"100"  # the body is not ours to change
    assert _entries(headers[b"server-timing"].decode())["sentry-trace"].startswith(INCOMING_TRACE)


@pytest.mark.asyncio
async def test_asgi_held_chunks_go_before_an_extension_message() -> None:
    metatrace.configure(public_key="abc")
    chunk = {"type": "http.response.body", "body": b"<html><head>", "more_body": True}
    other = {"type": "http.response.zerocopysend", "file": 3}
    sent = await _asgi_run([START, chunk, other])
    assert [message["type"] for message in sent] == [
        "http.response.start",
        "http.response.body",
        "http.response.zerocopysend",
    ]
    assert sent[1] == {"type": "http.response.body", "body": b"<html><head>", "more_body": True}


@pytest.mark.asyncio
async def test_asgi_stale_tags_warning_names_the_path_without_an_endpoint(
    caplog: pytest.LogCaptureFixture,
) -> None:
    metatrace.configure(public_key="abc")
    caplog.set_level("WARNING", logger="metatrace")
    page = (STALE_HEAD + "</body></html>").encode()
    length = str(len(page)).encode()
    start = {**START, "headers": [(b"content-type", b"text/html"), (b"content-length", length)]}
    body = {"type": "http.response.body", "body": page, "more_body": False}
    sent = await _asgi_run([start, body], path="/raw-asgi-stale")
    html = sent[1]["body"].decode()
    _continued(html)
    assert OTHER not in html
    assert "the page '/raw-asgi-stale' rendered the trace tags of another trace" in caplog.text


def _html_start(length: int) -> dict[str, Any]:
    return {
        "type": "http.response.start",
        "status": 200,
        "headers": [(b"content-type", b"text/html"), (b"content-length", b"%d" % length)],
    }


@pytest.mark.asyncio
async def test_asgi_page_is_held_until_the_chunk_with_its_heads_end() -> None:
    metatrace.configure(public_key="abc")
    messages = [
        {"type": "http.response.body", "body": piece, "more_body": True} for piece in HEAD_CHUNKS
    ]
    end = {"type": "http.response.body", "body": b"", "more_body": False}
    out = await _asgi_run([_html_start(sum(map(len, HEAD_CHUNKS))), *messages, end])
    assert out[2:] == [*messages[2:], end]
    _continued(out[1]["body"].decode())
    assert OTHER.encode() not in out[1]["body"]


@pytest.mark.asyncio
async def test_asgi_head_end_inside_a_comment_split_across_chunks_is_no_heads_end() -> None:
    # The chunks are read together: a comment begun in one and closed in another hides its
    # "</head>", and the stale tag after it is still in the head.
    metatrace.configure(public_key="abc")
    pieces = [
        b"<html><head><!-",
        b"- </head> -->",
        STALE_HEAD.removeprefix("<html><head>").encode(),
        b"<p>page</p></body></html>",
    ]
    messages = [
        {"type": "http.response.body", "body": piece, "more_body": True} for piece in pieces
    ]
    end = {"type": "http.response.body", "body": b"", "more_body": False}
    out = await _asgi_run([_html_start(sum(map(len, pieces))), *messages, end])
    assert out[2:] == [messages[3], end]  # held until the chunk with the head's real end
    _continued(out[1]["body"].decode())
    assert OTHER.encode() not in b"".join(message["body"] for message in out[1:])


@pytest.mark.asyncio
async def test_asgi_head_response_keeps_the_apps_body_and_length() -> None:
    metatrace.configure(inject=True, public_key="abc")
    page = NO_TAGS.encode()
    body = {"type": "http.response.body", "body": page, "more_body": False}
    sent = await _asgi_run([_html_start(len(page)), body], method="HEAD")
    headers = dict(sent[0]["headers"])
    assert headers[b"content-length"] == str(len(page)).encode()
    assert _entries(headers[b"server-timing"].decode())["sentry-trace"].startswith(INCOMING_TRACE)
    assert sent[1] is body
    sent = await _asgi_run([_html_start(len(page)), body])  # the same page, for GET
    _continued(sent[1]["body"].decode())


@pytest.mark.asyncio
@pytest.mark.parametrize("status", [304, 302, 204, 103])
async def test_asgi_html_responses_that_are_no_page_pass_untouched(status: int) -> None:
    start = {**_html_start(0), "status": status}
    end = {"type": "http.response.body", "body": b"", "more_body": False}
    sent = await _asgi_run([start, end])
    assert sent == [start, end]
    assert sent[0] is start


@pytest.mark.asyncio
async def test_asgi_start_without_headers_or_status_passes_as_it_is() -> None:
    """ASGI lets a start leave out its headers; a start without a status is the server's
    to refuse. Neither raises in the middleware."""
    no_headers = {"type": "http.response.start", "status": 200}
    no_status = {"type": "http.response.start", "headers": [(b"content-type", b"text/plain")]}
    end = {"type": "http.response.body", "body": b"ok", "more_body": False}
    for start in (no_headers, no_status):
        sent = await _asgi_run([start, end])
        assert sent == [start, end]


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "chunks, sent",
    [
        ([L - 1, 1, 5], [L, 5]),  # the limit reached exactly: not a chunk more
        ([L - 1, 2, 5], [L + 1, 5]),
        ([L, 5, 5], [L, 5, 5]),  # the first chunk holds the whole head
    ],
)
async def test_asgi_page_is_held_until_its_head_is_in_and_no_longer(
    chunks: list[int], sent: list[int]
) -> None:
    pieces = [bytes([ord("a") + n]) * size for n, size in enumerate(chunks)]
    page = b"".join(pieces)
    messages = [
        {"type": "http.response.body", "body": piece, "more_body": True} for piece in pieces
    ]
    end = {"type": "http.response.body", "body": b"", "more_body": False}
    out = await _asgi_run([_html_start(len(page)), *messages, end])
    assert [len(message["body"]) for message in out[1:-1]] == sent
    assert all(message["more_body"] is True for message in out[1:-1])
    assert out[-1] is end
    assert b"".join(message["body"] for message in out[1:]) == page


@pytest.mark.asyncio
async def test_asgi_held_page_ended_by_a_bare_body_message() -> None:
    """`body` and `more_body` may be left out of a body message (b"" and False)."""
    pieces = [b"<html><head>", b"<title>t</title>"]  # no head's end: held to the end
    page = b"".join(pieces)
    messages = [
        {"type": "http.response.body", "body": piece, "more_body": True} for piece in pieces
    ]
    sent = await _asgi_run([_html_start(len(page)), *messages, {"type": "http.response.body"}])
    assert sent[1:] == [{"type": "http.response.body", "body": page, "more_body": False}]


@pytest.mark.asyncio
async def test_asgi_held_chunks_go_joined_before_an_extension_message_and_the_rest_follows() -> (
    None
):
    chunks = [
        {"type": "http.response.body", "body": b"<html><head>", "more_body": True},
        {"type": "http.response.body", "body": b"<title>", "more_body": True},
    ]
    other = {"type": "http.response.zerocopysend", "file": 3, "more_body": True}
    end = {"type": "http.response.body", "body": b"", "more_body": False}
    sent = await _asgi_run([START, *chunks, other, end])
    assert sent[1:] == [
        {"type": "http.response.body", "body": b"<html><head><title>", "more_body": True},
        other,
        end,
    ]


@pytest.mark.asyncio
async def test_the_request_span_is_no_longer_named_once_the_request_left() -> None:
    # OpenTelemetry as the source: the span current after the request (a child of the server
    # span, say) is named again, not the request's span that was pinned while it ran.
    tracer = otel_source()
    page = NO_TAGS.encode()
    with tracer.start_as_current_span("server") as server:
        sent = await _asgi_run(
            [_html_start(len(page)), {"type": "http.response.body", "body": page}]
        )
        with tracer.start_as_current_span("after") as after:
            tags = parse_trace_meta(str(metatrace.trace_meta()))
    headers = dict(sent[0]["headers"])
    assert _entries(headers[b"server-timing"].decode())["traceparent"] == otel_traceparent(server)
    assert tags["traceparent"] == otel_traceparent(after)
