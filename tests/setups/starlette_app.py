"""Starlette with sentry-sdk's Starlette integration, as both projects' docs set them up, and
metatrace's ASGI middleware and Jinja extension."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sentry_sdk.integrations.starlette import StarletteIntegration
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route
from starlette.templating import Jinja2Templates

import metatrace
import metatrace.asgi
import metatrace.jinja

from .tracers import SENTRY_DSN, start_sentry

start_sentry(StarletteIntegration())
metatrace.configure(dsn=SENTRY_DSN, w3c=True)

templates = Jinja2Templates(directory=Path(__file__).with_name("templates"))
metatrace.jinja.install(templates.env)


async def index(request: Request) -> Response:
    return templates.TemplateResponse(request, "page.html")


def sync_index(request: Request) -> Response:  # Starlette runs it in a thread
    return templates.TemplateResponse(request, "page.html")


async def streamed(request: Request) -> Response:
    # Starlette iterates a plain iterator in a thread, chunk by chunk, as it sends them.
    return StreamingResponse(templates.get_template("page.html").generate(), media_type="text/html")


app = Starlette(
    routes=[Route("/", index), Route("/sync/", sync_index), Route("/streamed/", streamed)],
    middleware=[Middleware(metatrace.asgi.TraceMiddleware)],
)


async def application(scope: Any, receive: Any, send: Any) -> None:
    # As in asgi.py: sentry-sdk 2.0's patch makes uvicorn take the app for a factory.
    await app(scope, receive, send)
