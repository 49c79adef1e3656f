"""WSGI and ASGI middleware, through Flask's and Starlette's real test clients."""

from __future__ import annotations

import sys
import warnings
from collections.abc import AsyncIterator, Iterator
from typing import Any

import jinja2
import pytest
from bs4 import BeautifulSoup
from flask import Flask, Response, render_template_string
from flask import request as flask_request
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, StreamingResponse
from starlette.routing import Route, WebSocketRoute
from starlette.templating import Jinja2Templates
from starlette.websockets import WebSocket

with warnings.catch_warnings():
    # Starlette 1.x suggests httpx2 for its test client; httpx still works, and we use it.
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

import metatrace
import metatrace.asgi
import metatrace.wsgi
from metatrace.jinja import TraceMetaExtension
from metatrace.responses import HEAD_LIMIT
from tests.conftest import (
    INCOMING_SPAN,
    INCOMING_TRACE,
    decode_baggage,
    parse_trace_meta,
    run_python,
    split_sentry_trace,
    trace_meta_elements,
)
from tests.test_responses import parse_server_timing

HEADERS = {
    "sentry-trace": f"{INCOMING_TRACE}-{INCOMING_SPAN}-1",
    "baggage": f"sentry-trace_id={INCOMING_TRACE},sentry-public_key=abc,sentry-release=r%201",
}
PAGE = "<html><head>{{ trace_meta() }}</head><body>{{ text }}</body></html>"


def _continued(html: str) -> str:
    """Asserts the page continues HEADERS' trace with a span of its own; returns that span."""
    tags = parse_trace_meta(html)
    trace_id, span_id, flag = split_sentry_trace(tags["sentry-trace"])
    assert (trace_id, flag) == (INCOMING_TRACE, "1")
    assert span_id != INCOMING_SPAN
    assert decode_baggage(tags["baggage"])["release"] == "r 1"
    return span_id


# Flask ------------------------------------------------------------------------------------


@pytest.fixture
def flask_app() -> Flask:
    app = Flask(__name__)
    app.jinja_env.add_extension(TraceMetaExtension)
    app.wsgi_app = metatrace.wsgi.TraceMiddleware(app.wsgi_app)  # type: ignore[method-assign]

    @app.get("/")
    def page() -> str:
        trace = flask_request.environ["metatrace"]
        assert metatrace.get_active() is trace
        return render_template_string(PAGE, text=trace.span_id)

    @app.get("/stream")
    def stream() -> Response:
        # Rendered by the server after the view returned: no stream_with_context needed.
        template = app.jinja_env.from_string(PAGE)
        return Response(template.generate(text="streamed"), mimetype="text/html")

    @app.get("/cached")
    def cached() -> Response:
        response = Response(render_template_string(PAGE, text="cached"), mimetype="text/html")
        response.headers["Cache-Control"] = "public, max-age=60"
        return response

    return app


def test_flask_page_continues_the_trace(flask_app: Flask) -> None:
    response = flask_app.test_client().get("/", headers=HEADERS)
    span_id = _continued(response.text)
    assert f"<body>{span_id}</body>" in response.text
    assert metatrace.get_active() is None


def test_flask_streamed_page_is_rendered_in_the_request_trace(flask_app: Flask) -> None:
    response = flask_app.test_client().get("/stream", headers=HEADERS)
    _continued(response.text)
    assert "streamed" in response.text
    assert metatrace.get_active() is None


def test_flask_requests_do_not_share_a_trace(flask_app: Flask) -> None:
    metatrace.configure(public_key="abc")
    client = flask_app.test_client()
    first = parse_trace_meta(client.get("/").text)["sentry-trace"]
    second = parse_trace_meta(client.get("/").text)["sentry-trace"]
    assert first[:32] != second[:32]


def test_flask_shared_cacheable_page_loses_its_tags(flask_app: Flask) -> None:
    response = flask_app.test_client().get("/cached", headers=HEADERS)
    assert parse_trace_meta(response.text) == {}
    assert response.headers["Content-Length"] == str(len(response.data))
    assert "<body>cached</body>" in response.text
    assert _page_text(response.text) == "cached"  # the rest of the page is intact


def test_flask_cacheable_page_kept_when_stripping_is_off(flask_app: Flask) -> None:
    metatrace.configure(strip_cacheable=False)
    _continued(flask_app.test_client().get("/cached", headers=HEADERS).text)


def test_wsgi_body_is_closed_in_the_request_trace() -> None:
    seen: list[metatrace.TraceContext | None] = []

    class Body:
        def __iter__(self) -> Iterator[bytes]:
            yield b"a"
            yield b"b"

        def close(self) -> None:
            seen.append(metatrace.get_active())

    def app(environ: dict[str, object], start_response: object) -> Body:
        start_response("200 OK", [("Content-Type", "text/plain")])  # type: ignore[operator]
        return Body()

    middleware = metatrace.wsgi.TraceMiddleware(app)  # type: ignore[arg-type]
    environ = {"HTTP_SENTRY_TRACE": HEADERS["sentry-trace"]}
    body = middleware(environ, lambda status, headers, exc_info=None: lambda data: None)
    assert metatrace.get_active() is None
    assert list(body) == [b"a", b"b"]
    body.close()  # type: ignore[attr-defined]
    assert seen == [environ["metatrace"]]
    assert metatrace.get_active() is None


# Starlette --------------------------------------------------------------------------------

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


def _page_text(html: str) -> str:
    soup = BeautifulSoup(html, "html.parser")
    assert soup.body is not None
    return soup.body.get_text()


# What an HTML page carries (responses.py), through Flask and Starlette ----------------------

OTHER_TRACE = "0123456789abcdef0123456789abcdef"
STALE_HEAD = (
    f'<meta name="sentry-trace" content="{OTHER_TRACE}-0123456789abcdef-1">'
    f'<meta name="baggage" content="sentry-trace_id={OTHER_TRACE},sentry-public_key=other">'
)
NO_TAGS = "<!doctype html><html><head><title>t</title></head><body><p>no tags</p></body></html>"
TIMING = 'db;dur=53, cache;desc="hit, miss"'


def _entries(header: str | None) -> dict[str, str]:
    """The trace entries of a Server-Timing value, name -> unescaped desc."""
    names = ("sentry-trace", "baggage", "traceparent")
    return {
        name: params["desc"] for name, params in parse_server_timing(header or "") if name in names
    }


@pytest.fixture
def flask_pages() -> Flask:
    """A Flask app with a fragment cache of its own making, a page without tags, and one
    with a Server-Timing header of its own."""
    app = Flask(__name__)
    app.jinja_env.add_extension(TraceMetaExtension)
    app.wsgi_app = metatrace.wsgi.TraceMiddleware(app.wsgi_app)  # type: ignore[method-assign]
    fragments: dict[str, str] = {}

    @app.get("/fragment")
    def fragment() -> str:
        # What a Jinja fragment cache does: render the head once, serve it to everyone.
        if "head" not in fragments:
            fragments["head"] = render_template_string("{{ trace_meta() }}")
        return render_template_string(
            "<html><head>{{ head|safe }}</head><body>page</body></html>", head=fragments["head"]
        )

    @app.get("/no-tags")
    def no_tags() -> str:
        return NO_TAGS

    @app.get("/timed")
    def timed() -> Response:
        response = Response(render_template_string(PAGE, text="t"), mimetype="text/html")
        response.headers["Server-Timing"] = TIMING
        return response

    @app.get("/timed-public")
    def timed_public() -> Response:
        response = timed()
        response.headers["Cache-Control"] = "public, max-age=60"
        return response

    @app.get("/json")
    def json() -> dict[str, bool]:
        return {"html": False}

    return app


def test_flask_page_carries_its_tags_in_server_timing(flask_app: Flask) -> None:
    response = flask_app.test_client().get("/", headers=HEADERS)
    _continued(response.text)
    assert _entries(response.headers.get("Server-Timing")) == parse_trace_meta(response.text)


def test_flask_streamed_page_gets_server_timing_too(flask_app: Flask) -> None:
    response = flask_app.test_client().get("/stream", headers=HEADERS)
    assert "Content-Length" not in response.headers
    assert _entries(response.headers.get("Server-Timing")) == parse_trace_meta(response.text)


def test_flask_existing_server_timing_is_kept(flask_pages: Flask) -> None:
    client = flask_pages.test_client()
    response = client.get("/timed", headers=HEADERS)
    assert response.headers["Server-Timing"].startswith(TIMING + ", ")
    assert _entries(response.headers["Server-Timing"]) == parse_trace_meta(response.text)
    cached = client.get("/timed-public", headers=HEADERS)
    assert cached.headers["Server-Timing"] == TIMING
    assert parse_trace_meta(cached.text) == {}
    assert "Server-Timing" not in client.get("/json", headers=HEADERS).headers


def test_flask_cached_fragment_shows_each_visitor_its_own_trace(
    flask_pages: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    metatrace.configure(public_key="abc")
    client = flask_pages.test_client()
    first = parse_trace_meta(client.get("/fragment").text)
    response = client.get("/fragment", headers=HEADERS)
    second = parse_trace_meta(response.text)
    assert first["sentry-trace"][:32] != INCOMING_TRACE
    _continued(response.text)
    assert response.headers["Content-Length"] == str(len(response.data))
    assert _entries(response.headers["Server-Timing"]) == second
    assert "'/fragment' rendered the trace tags of another trace" in caplog.text


def test_flask_page_without_tags_gets_them_with_injection(flask_pages: Flask) -> None:
    client = flask_pages.test_client()
    assert parse_trace_meta(client.get("/no-tags", headers=HEADERS).text) == {}
    metatrace.configure(inject=True)
    response = client.get("/no-tags", headers=HEADERS)
    _continued(response.text)
    assert response.text.startswith('<!doctype html><html><head><meta name="sentry-trace"')
    assert response.headers["Content-Length"] == str(len(response.data))
    assert client.head("/no-tags", headers=HEADERS).headers["Content-Length"] == str(
        len(NO_TAGS)  # HEAD: no body to change, so the app's own length
    )


def test_wsgi_body_gathered_from_many_chunks() -> None:
    """The head of a page that comes in small chunks (and by write()) is still found."""
    metatrace.configure(inject=True, public_key="abc")
    page = NO_TAGS.encode()

    def app(environ: dict[str, object], start_response: Any) -> Iterator[bytes]:
        write = start_response(
            "200 OK", [("Content-Type", "text/html"), ("Content-Length", str(len(page)))]
        )
        write(page[:3])
        for start in range(3, len(page), 5):
            yield page[start : start + 5]

    sent: list[tuple[str, list[tuple[str, str]]]] = []
    middleware = metatrace.wsgi.TraceMiddleware(app)  # type: ignore[arg-type]
    environ = {
        "REQUEST_METHOD": "GET",
        "HTTP_SENTRY_TRACE": HEADERS["sentry-trace"],
        "HTTP_BAGGAGE": HEADERS["baggage"],
    }
    body = b"".join(middleware(environ, lambda s, h, e=None: sent.append((s, h))))  # type: ignore[arg-type]
    _continued(body.decode())
    headers = dict(sent[0][1])
    assert headers["Content-Length"] == str(len(body))
    assert _entries(headers["Server-Timing"]) == parse_trace_meta(body.decode())


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


# Raw WSGI and ASGI apps at the adapters' edges -----------------------------------------------

OTHER = "0123456789abcdef0123456789abcdef"
STALE_HEAD = (
    f'<html><head><meta name="sentry-trace" content="{OTHER}-0123456789abcdef-1">'
    "<title>t</title></head><body>"
)
ENVIRON = {
    "REQUEST_METHOD": "GET",
    "PATH_INFO": "/stale",
    "HTTP_SENTRY_TRACE": HEADERS["sentry-trace"],
    "HTTP_BAGGAGE": HEADERS["baggage"],
}


def test_wsgi_long_page_is_fixed_in_its_head_and_the_rest_passes_as_it_comes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A list body (no close()): the chunk that holds the head is fixed, then each further
    chunk is sent as it is."""
    metatrace.configure(public_key="abc")
    chunks = [STALE_HEAD.encode(), b"x" * 9000, b"<p>tail 1</p>", b"<p>tail 2</p></body></html>"]
    length = sum(map(len, chunks))

    def app(environ: dict[str, object], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/html"), ("Content-Length", str(length))])
        return chunks

    sent: list[list[tuple[str, str]]] = []
    caplog.set_level("WARNING", logger="metatrace")
    middleware = metatrace.wsgi.TraceMiddleware(app)  # type: ignore[arg-type]
    result = middleware(dict(ENVIRON), lambda s, h, e=None: sent.append(h))  # type: ignore[arg-type]
    out = list(result)
    result.close()  # as a server does; the list has nothing to close
    assert out[1:] == chunks[1:]  # the head is in the first: the rest passes one by one
    html = b"".join(out).decode()
    _continued(html)
    assert OTHER not in html
    assert dict(sent[0])["Content-Length"] == str(len(html))
    assert "the page '/stale' rendered the trace tags of another trace" in caplog.text


def test_wsgi_page_with_nothing_to_change_keeps_its_headers() -> None:
    metatrace.configure(public_key="abc", server_timing=False)
    page = NO_TAGS.encode()
    headers = [("Content-Type", "text/html"), ("Content-Length", str(len(page))), ("ETag", '"1"')]

    def app(environ: dict[str, object], start_response: Any) -> list[bytes]:
        start_response("200 OK", headers)
        return [page]

    sent: list[list[tuple[str, str]]] = []
    middleware = metatrace.wsgi.TraceMiddleware(app)  # type: ignore[arg-type]
    body = b"".join(middleware(dict(ENVIRON), lambda s, h, e=None: sent.append(h)))  # type: ignore[arg-type]
    assert body == page
    assert sent == [headers]


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


# The adapters' edges: HEAD, statuses, exc_info, where the held head ends -----------------------

Calls = list[tuple[str, list[tuple[str, str]], Any]]


def _wsgi_run(app: Any, **environ: str) -> tuple[Calls, list[bytes]]:
    """What the server gets from the middleware around `app`: start_response's calls, and
    the body's chunks as they come."""
    calls: Calls = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        calls.append((status, headers, exc_info))
        return lambda data: None

    middleware = metatrace.wsgi.TraceMiddleware(app)
    body = middleware({**ENVIRON, **environ}, start_response)
    chunks = list(body)
    body.close()  # type: ignore[attr-defined]
    return calls, chunks


def test_wsgi_head_response_keeps_the_apps_body_and_length() -> None:
    """An app may send GET's body for HEAD (the server drops it): it is not held back, and
    Content-Length stays GET's; the trace still goes into Server-Timing."""
    metatrace.configure(inject=True, public_key="abc")
    page = NO_TAGS.encode()
    headers = [("Content-Type", "text/html"), ("Content-Length", str(len(page)))]

    def app(environ: dict[str, object], start_response: Any) -> list[bytes]:
        start_response("200 OK", headers)
        return [page]

    calls, chunks = _wsgi_run(app, REQUEST_METHOD="HEAD")
    assert chunks == [page]
    sent = dict(calls[0][1])
    assert sent["Content-Length"] == str(len(page))
    assert _entries(sent["Server-Timing"])["sentry-trace"].startswith(INCOMING_TRACE)
    calls, chunks = _wsgi_run(app, REQUEST_METHOD="GET")  # the same page, for GET
    _continued(b"".join(chunks).decode())
    assert dict(calls[0][1])["Content-Length"] == str(len(b"".join(chunks)))


def _exc_info() -> Any:
    try:
        raise RuntimeError("the view failed")
    except RuntimeError:
        return sys.exc_info()


@pytest.mark.parametrize(
    "headers",
    [
        [("Content-Type", "text/plain")],  # no page: passed straight on
        [("Content-Type", "text/html")],  # a page of unknown length: its headers only
        [("Content-Type", "text/html"), ("Content-Length", "5")],  # held for its head
    ],
)
def test_wsgi_status_and_exc_info_reach_the_server_as_the_app_gave_them(
    headers: list[tuple[str, str]],
) -> None:
    exc_info = _exc_info()

    def app(environ: dict[str, object], start_response: Any) -> list[bytes]:
        start_response("500 Internal Server Error", headers, exc_info)
        return [b"error"]

    calls, chunks = _wsgi_run(app)
    assert [(status, info) for status, _, info in calls] == [
        ("500 Internal Server Error", exc_info)
    ]
    assert dict(calls[0][1])["Content-Type"] == headers[0][1]
    assert chunks == [b"error"]


@pytest.mark.parametrize(
    "status", ["304 Not Modified", "302 Found", "204 No Content", "103 Early Hints"]
)
def test_wsgi_html_responses_that_are_no_page_pass_untouched(status: str) -> None:
    headers = [("Content-Type", "text/html"), ("Content-Length", "0")]

    def app(environ: dict[str, object], start_response: Any) -> list[bytes]:
        start_response(status, headers)
        return []

    assert _wsgi_run(app) == ([(status, headers, None)], [])


def test_wsgi_status_without_a_code_is_read_as_a_page() -> None:
    """A malformed status (no three digits) never raises in the middleware: the page gets
    its headers, and the server judges the status."""

    def app(environ: dict[str, object], start_response: Any) -> list[bytes]:
        start_response("OK", [("Content-Type", "text/html")])
        return [b"<p>ok</p>"]

    calls, chunks = _wsgi_run(app)
    assert calls[0][0] == "OK"
    assert _entries(dict(calls[0][1])["Server-Timing"])["sentry-trace"].startswith(INCOMING_TRACE)
    assert chunks == [b"<p>ok</p>"]


L = HEAD_LIMIT


@pytest.mark.parametrize(
    "written, chunks, sent",
    [
        ([], [L - 1, 1, 5], [L, 5]),  # the limit reached exactly: not a chunk more
        ([], [L - 1, 2, 5], [L + 1, 5]),
        ([], [L, 5, 5], [L, 5, 5]),  # the first chunk holds the whole head
        ([], [5000, 5000, 5000, 7], [15007]),  # no head's end: held until the limit or the end
        ([L // 2, L // 2], [5, 5], [L + 5, 5]),  # written with write() counts too
        ([3, 4], [5], [12]),  # a short page, written and returned
        ([], [], [0]),  # an empty page
    ],
)
def test_wsgi_page_is_held_until_its_head_is_in_and_no_longer(
    written: list[int], chunks: list[int], sent: list[int]
) -> None:
    """The app's bytes reach the server unchanged and in order; only the first HEAD_LIMIT
    bytes (or the whole page, if shorter) wait, gathered into one chunk."""
    pieces = [bytes([ord("a") + n % 26]) * size for n, size in enumerate(written + chunks)]
    page = b"".join(pieces)

    def app(environ: dict[str, object], start_response: Any) -> list[bytes]:
        write = start_response(
            "200 OK", [("Content-Type", "text/html"), ("Content-Length", str(len(page)))]
        )
        for piece in pieces[: len(written)]:
            write(piece)
        return pieces[len(written) :]

    calls, out = _wsgi_run(app)
    assert [len(chunk) for chunk in out] == sent
    assert b"".join(out) == page
    assert dict(calls[0][1])["Content-Length"] == str(len(page))


# A 30 KB head, as a page with inline critical CSS has, then its body, in chunks.
HEAD_CHUNKS = [
    b"<html><head><style>" + b"p{margin:0}" * 2000,
    b'</style><meta name="sentry-trace" content="' + OTHER.encode() + b'-0123456789abcdef-1">'
    b"</head>",
    b"<body>" + b"x" * 5000,
    b"</body></html>",
]


def test_wsgi_page_is_held_until_the_chunk_with_its_heads_end() -> None:
    metatrace.configure(public_key="abc")
    length = sum(map(len, HEAD_CHUNKS))

    def app(environ: dict[str, object], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/html"), ("Content-Length", str(length))])
        return HEAD_CHUNKS

    _, out = _wsgi_run(app)
    assert out[1:] == HEAD_CHUNKS[2:]  # the rest passes as it comes
    _continued(out[0].decode())  # the stale tags after 22 KB of head, replaced
    assert OTHER not in b"".join(out).decode()


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


def _html_start(length: int) -> dict[str, Any]:
    return {
        "type": "http.response.start",
        "status": 200,
        "headers": [(b"content-type", b"text/html"), (b"content-length", b"%d" % length)],
    }


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
        "the endpoint tests.test_wsgi_asgi.module_named_fragment_page rendered the trace tags "
        "of another trace" in caplog.text
    )


def test_flask_w3c_only_trace_goes_out_with_its_tracestate() -> None:
    """An incoming traceparent and tracestate (no Sentry headers) through a WSGI environ: the
    app's outgoing calls continue the trace and carry the tracestate on."""
    metatrace.configure(w3c=True)
    app = Flask(__name__)
    app.wsgi_app = metatrace.wsgi.TraceMiddleware(app.wsgi_app)  # type: ignore[method-assign]

    @app.get("/call")
    def call() -> dict[str, str]:
        return metatrace.propagation_headers()

    traceparent = f"00-{INCOMING_TRACE}-{INCOMING_SPAN}-01"
    headers = {"traceparent": traceparent, "tracestate": "vendor=opaque,other=1"}
    outgoing = app.test_client().get("/call", headers=headers).json
    assert outgoing is not None
    assert outgoing["traceparent"].split("-")[1] == INCOMING_TRACE
    assert outgoing["traceparent"] != traceparent  # a span of its own
    assert outgoing["tracestate"] == "vendor=opaque,other=1"


def test_the_middleware_imports_no_tracer_the_app_did_not() -> None:
    # Whether an OpenTelemetry span is current is asked only once the app imported it.
    code = """
import sys
import metatrace, metatrace.wsgi
metatrace.configure(public_key="abc")

def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/html")])
    return [b"<html><head>" + str(metatrace.trace_meta()).encode() + b"</head></html>"]

out = b"".join(metatrace.wsgi.TraceMiddleware(app)({"REQUEST_METHOD": "GET"}, lambda *a: None))
assert b'<meta name="sentry-trace"' in out, out
print(sorted(m for m in sys.modules if m.split(".")[0] in ("opentelemetry", "sentry_sdk")))
"""
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
