"""metatrace/wsgi.py: the WSGI middleware, through Flask's real test client and raw WSGI apps."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask, Response, render_template_string
from flask import request as flask_request

import metatrace
import metatrace.wsgi
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
from tests.conftest import INCOMING_SPAN, INCOMING_TRACE, parse_trace_meta, run_python
from tests.tracers import otel_source, otel_traceparent

pytestmark = pytest.mark.usefixtures("_warnings_given_anew")


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


# What an HTML page carries (_pages/responses.py), through Flask -----------------------------


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


# Raw WSGI apps at the adapter's edges: HEAD, statuses, exc_info, where the held head ends ------

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


# OpenTelemetry as the source: the request's span, from the request's start to its body's end.


def _otel_page(body: Iterator[str]) -> Any:
    """A WSGI app whose HTML body is `body`, iterated by the server after the app returned."""

    def app(environ: dict[str, object], start_response: Any) -> Iterator[bytes]:
        start_response("200 OK", [("Content-Type", "text/html")])
        return (chunk.encode() for chunk in body)

    return app


def _streamed() -> Iterator[str]:
    yield "<!doctype html><html><head>"
    yield str(metatrace.trace_meta())
    yield "</head><body>streamed</body></html>"


def test_a_page_rendered_in_a_child_span_names_the_request_span() -> None:
    tracer = otel_source()

    def app(environ: dict[str, object], start_response: Any) -> list[bytes]:
        with tracer.start_as_current_span("render"):
            html = f"<html><head>{metatrace.trace_meta()}</head></html>"
        start_response("200 OK", [("Content-Type", "text/html")])
        return [html.encode()]

    with tracer.start_as_current_span("server") as server:
        _, out = _wsgi_run(app)
    assert parse_trace_meta(b"".join(out).decode())["traceparent"] == otel_traceparent(server)


def test_a_body_streamed_after_the_span_ended_names_that_span() -> None:
    # As gunicorn runs a WSGI app: the body is iterated after the server span has ended.
    tracer = otel_source()
    calls: Calls = []
    with tracer.start_as_current_span("server") as server:
        body = metatrace.wsgi.TraceMiddleware(_otel_page(_streamed()))(
            dict(ENVIRON), lambda *call: calls.append(call)
        )
    html = b"".join(body).decode()
    body.close()  # type: ignore[attr-defined]
    assert parse_trace_meta(html)["traceparent"] == otel_traceparent(server)
    assert _entries(dict(calls[0][1])["Server-Timing"])["traceparent"] == otel_traceparent(server)


def test_the_request_span_is_no_longer_named_once_the_request_left() -> None:
    # The span current after the request (a child of the server span, say) is named again.
    tracer = otel_source()

    def app(environ: dict[str, object], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/html")])
        return [b"<html><head></head></html>"]

    with tracer.start_as_current_span("server"):
        _wsgi_run(app)
        with tracer.start_as_current_span("after") as after:
            tags = parse_trace_meta(str(metatrace.trace_meta()))
    assert tags["traceparent"] == otel_traceparent(after)
