"""Flask with sentry-sdk's Flask integration, as both projects' docs set them up, and metatrace's
WSGI middleware and Jinja extension."""

from __future__ import annotations

from flask import Flask, render_template_string, stream_template_string
from sentry_sdk.integrations.flask import FlaskIntegration

import metatrace
import metatrace.wsgi
from metatrace.jinja import TraceMetaExtension

from .tracers import SENTRY_DSN, start_sentry

start_sentry(FlaskIntegration())
metatrace.configure(dsn=SENTRY_DSN, w3c=True)

app = Flask("setups")
app.jinja_env.add_extension(TraceMetaExtension)
app.wsgi_app = metatrace.wsgi.TraceMiddleware(app.wsgi_app)  # type: ignore[method-assign]

PAGE = "<!doctype html><html><head>{{ trace_meta() }}<title>flask</title></head><body></body>"


@app.get("/")
def index() -> str:
    return render_template_string(PAGE)


@app.get("/streamed/")
def streamed() -> object:
    # The server iterates the body after the app returned, and after sentry-sdk's span ended.
    return app.response_class(stream_template_string(PAGE), mimetype="text/html")
