"""WSGI and ASGI middleware, through Flask's and Starlette's real test clients."""

from __future__ import annotations

import warnings
from collections.abc import AsyncIterator, Iterator

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
from tests.conftest import (
    INCOMING_SPAN,
    INCOMING_TRACE,
    decode_baggage,
    parse_trace_meta,
    split_sentry_trace,
)

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
