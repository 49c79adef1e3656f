"""The Django integration: middleware (sync and async), every kind of view, settings, checks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.checks import Error, Warning
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpResponse
from django.test import AsyncClient, Client

import metatrace
from metatrace.checks import check_middleware
from metatrace.config import get_config
from tests.conftest import (
    INCOMING_SPAN,
    INCOMING_TRACE,
    decode_baggage,
    parse_trace_meta,
    run_python,
)

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.urls("tests.urls")

HEADERS = {
    "sentry-trace": f"{INCOMING_TRACE}-{INCOMING_SPAN}-1",
    "baggage": f"sentry-trace_id={INCOMING_TRACE},sentry-public_key=abc,sentry-release=r%201",
}
VIEWS = [
    "/t/function/",
    "/t/tag/",
    "/t/class/",
    "/t/template-response/",
    "/t/render-to-string/",
    "/t/jinja/",
]


@pytest.mark.parametrize("path", VIEWS)
def test_every_kind_of_view_continues_the_request_trace(client: Client, path: str) -> None:
    response = client.get(path, headers=HEADERS)
    assert response.status_code == 200
    tags = parse_trace_meta(response.content.decode())
    trace_id, span_id, flag = tags["sentry-trace"].split("-")
    assert (trace_id, flag) == (INCOMING_TRACE, "1")
    assert span_id != INCOMING_SPAN
    assert decode_baggage(tags["baggage"])["release"] == "r 1"
    assert metatrace.get_active() is None  # nothing leaks out of the request


@pytest.mark.parametrize("path", VIEWS)
def test_every_kind_of_view_starts_a_trace_without_headers(
    client: Client, settings: Any, path: str
) -> None:
    settings.METATRACE = {"DSN": "https://key1@o5.ingest.sentry.io/1", "TRACES_SAMPLE_RATE": 1.0}
    first = parse_trace_meta(client.get(path).content.decode())
    second = parse_trace_meta(client.get(path).content.decode())
    assert decode_baggage(first["baggage"])["public_key"] == "key1"
    assert first["sentry-trace"][:32] != second["sentry-trace"][:32]


def test_request_attribute_is_the_active_context(rf: Any) -> None:
    from metatrace.middleware import TraceMiddleware

    seen = {}

    def view(request: Any) -> Any:
        seen["request"] = request.metatrace
        seen["active"] = metatrace.get_active()
        return "response"

    request = rf.get("/", HTTP_SENTRY_TRACE=HEADERS["sentry-trace"])
    assert TraceMiddleware(view)(request) == "response"
    assert seen["request"] is seen["active"]
    assert seen["request"].trace_id == INCOMING_TRACE
    assert metatrace.get_active() is None


@pytest.mark.asyncio
async def test_async_view_through_async_middleware() -> None:
    response = await AsyncClient().get("/t/async/", headers=HEADERS)
    assert parse_trace_meta(response.content.decode())["sentry-trace"].startswith(INCOMING_TRACE)
    assert metatrace.get_active() is None


@pytest.mark.asyncio
async def test_sync_view_under_asgi() -> None:
    response = await AsyncClient().get("/t/tag/", headers=HEADERS)
    assert parse_trace_meta(response.content.decode())["sentry-trace"].startswith(INCOMING_TRACE)


def test_middleware_is_sync_and_async_capable() -> None:
    import asyncio

    from metatrace.middleware import TraceMiddleware

    async def async_view(request: Any) -> Any:
        return None

    assert TraceMiddleware.sync_capable and TraceMiddleware.async_capable
    assert asyncio.iscoroutinefunction(TraceMiddleware(async_view)) is True
    assert asyncio.iscoroutinefunction(TraceMiddleware(lambda request: None)) is False


def test_context_is_restored_when_the_view_raises(client: Client) -> None:
    client.raise_request_exception = True
    with pytest.raises(RuntimeError, match="view failed"):
        client.get("/t/failing/", headers=HEADERS)
    assert metatrace.get_active() is None


def test_hostile_headers_never_break_a_request(client: Client) -> None:
    response = client.get(
        "/t/tag/",
        headers={
            "sentry-trace": '"><script>alert(1)</script>',
            "baggage": "sentry-trace_id=x,=,;;," * 2000,
            "traceparent": "\x7f" * 100,
        },
    )
    assert response.status_code == 200
    assert parse_trace_meta(response.content.decode()) == {}


# Settings


def test_settings_configure_the_core(settings: Any) -> None:
    settings.METATRACE = {
        "DSN": "https://key1@o5.ingest.sentry.io/1",
        "RELEASE": "shop@1",
        "ENVIRONMENT": "prod",
        "TRACES_SAMPLE_RATE": 0.5,
        "W3C": True,
    }
    assert get_config() == metatrace.Config(
        public_key="key1",
        org_id="5",
        release="shop@1",
        environment="prod",
        traces_sample_rate=0.5,
        w3c=True,
    )


@pytest.mark.parametrize(
    "value, message",
    [
        (
            {"TRACES_SAMPLE_RATE": 2},
            "METATRACE['TRACES_SAMPLE_RATE'] 2 must be a number from 0.0 to 1.0, or None.",
        ),
        (
            {"DSN": "nope"},
            "METATRACE['DSN'] 'nope' is not a Sentry DSN; expected https://PUBLIC_KEY@HOST/PROJECT_ID.",
        ),
        ({"W3C": "true"}, "METATRACE['W3C'] must be True or False, not 'true'."),
        (
            {"SAMPLE_RATE": 1.0},
            "METATRACE['SAMPLE_RATE'] is not a metatrace setting. Valid keys: DSN, "
            "PUBLIC_KEY, RELEASE, ENVIRONMENT, TRACES_SAMPLE_RATE, W3C, TRACESTATE, "
            "TRACE_METRIC, ORG_ID, STRICT_TRACE_CONTINUATION, STRIP_CACHEABLE, SOURCE, "
            "PROPAGATION_TARGETS, SERVER_TIMING, INJECT, ALLOW_CACHED_TAG, SENTRY_BROWSER_VERSION.",
        ),
        (
            {"ALLOW_CACHED_TAG": "yes"},
            "METATRACE['ALLOW_CACHED_TAG'] must be True or False, not 'yes'.",
        ),
        (["DSN"], "METATRACE must be a dict of settings, not list."),
    ],
)
def test_bad_settings_fail_fast_naming_the_key(settings: Any, value: Any, message: str) -> None:
    with pytest.raises(ImproperlyConfigured) as raised:
        settings.METATRACE = value
    assert str(raised.value) == message


# A site that forgot "metatrace" in INSTALLED_APPS: its METATRACE would be ignored in silence.
# A fresh interpreter, since the app registry is set up once per process.
FORGOTTEN_APP_SITE = """
import django
from django.conf import settings
settings.configure(
    INSTALLED_APPS=[],
    MIDDLEWARE=MIDDLEWARE,
    ROOT_URLCONF=__name__,
    ALLOWED_HOSTS=["testserver"],
    METATRACE={"DSN": "https://key1@o5.ingest.sentry.io/1"},
    TEMPLATES=[{
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "OPTIONS": {"context_processors": ["metatrace.context_processors.trace_meta"]},
    }],
)
django.setup()
from django.http import HttpResponse
from django.template import engines
from django.test import Client, RequestFactory
from django.urls import path
urlpatterns = [path("", lambda request: HttpResponse("<head></head>"))]
try:
    CODE
except Exception as error:
    print(type(error).__name__, error)
"""


@pytest.mark.parametrize(
    ("middleware", "code", "component"),
    [
        (["metatrace.middleware.TraceMiddleware"], "Client().get('/')", "TraceMiddleware"),
        (
            [],
            "engines['django'].from_string('{{ trace_meta }}').render({}, RequestFactory().get('/')"
            ")",
            "metatrace.context_processors.trace_meta",
        ),
    ],
    ids=["middleware", "context-processor"],
)
def test_forgotten_app_fails_saying_what_to_add(
    middleware: list[str], code: str, component: str
) -> None:
    site = FORGOTTEN_APP_SITE.replace("MIDDLEWARE=MIDDLEWARE", f"MIDDLEWARE={middleware!r}")
    result = run_python(site.replace("CODE", code))
    assert result.stdout.strip() == (
        f"ImproperlyConfigured {component} needs 'metatrace' in INSTALLED_APPS: without it, the "
        'METATRACE settings and metatrace\'s system checks are ignored. Add "metatrace" to '
        "INSTALLED_APPS."
    ), result.stderr


def test_the_middleware_names_itself_when_the_app_is_missing(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same check in this process: the app registry without "metatrace" (the test above
    runs it in a fresh interpreter, as a site starts)."""
    from django.http import HttpResponse

    from metatrace import conf

    monkeypatch.setattr(conf, "_app_found", False)  # the check is made once per process
    settings.INSTALLED_APPS = [app for app in settings.INSTALLED_APPS if app != "metatrace"]
    with pytest.raises(ImproperlyConfigured) as raised:
        TraceMiddleware(lambda request: HttpResponse())
    assert str(raised.value).startswith("TraceMiddleware needs 'metatrace' in INSTALLED_APPS")


def test_source_is_logged_once_per_serving_process() -> None:
    # django.setup() runs in every process (manage.py commands, runserver's reloader): quiet.
    # Each serving process loads the middleware: one line, however often handlers are built.
    code = """
import os, sys
os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"  # LOGGING: metatrace to the console
import django
django.setup()
print("setup done", file=sys.stderr, flush=True)
from django.core.handlers.wsgi import WSGIHandler
WSGIHandler(); WSGIHandler()
"""
    result = run_python(code)
    lines = [line for line in result.stderr.splitlines() if line.startswith(("setup", "metatrace"))]
    assert len(lines) == 2, result.stderr
    assert lines[0] == "setup done" and lines[1].startswith("metatrace: source 'auto'"), lines


# System checks


def test_check_passes_on_the_sample_site() -> None:
    assert check_middleware() == []


def test_check_missing_middleware(settings: Any) -> None:
    settings.MIDDLEWARE = ["django.middleware.common.CommonMiddleware"]
    [error] = check_middleware()
    assert isinstance(error, Error)
    assert error.id == "metatrace.E001"
    assert error.msg == "metatrace.middleware.TraceMiddleware is not in MIDDLEWARE."


def test_check_subclass_counts_as_the_middleware(settings: Any) -> None:
    settings.MIDDLEWARE = ["tests.test_django.SubclassedMiddleware"]
    assert check_middleware() == []


def test_check_middleware_after_a_rendering_middleware(settings: Any) -> None:
    settings.MIDDLEWARE = [
        "django.contrib.flatpages.middleware.FlatpageFallbackMiddleware",
        "metatrace.middleware.TraceMiddleware",
    ]
    [warning] = check_middleware()
    assert isinstance(warning, Warning)
    assert warning.id == "metatrace.W001"


def test_check_gzip_inside_trace_middleware(settings: Any) -> None:
    settings.MIDDLEWARE = [
        "metatrace.middleware.TraceMiddleware",
        "django.middleware.gzip.GZipMiddleware",
    ]
    assert [message.id for message in check_middleware()] == ["metatrace.W004"]
    settings.MIDDLEWARE = settings.MIDDLEWARE[::-1]
    assert check_middleware() == []


UPDATE = "django.middleware.cache.UpdateCacheMiddleware"
FETCH = "django.middleware.cache.FetchFromCacheMiddleware"
BOTH = "django.middleware.cache.CacheMiddleware"
TRACE = "metatrace.middleware.TraceMiddleware"


@pytest.mark.parametrize(
    "middleware",
    [
        [UPDATE, TRACE, FETCH],  # Django's documented order: TraceMiddleware rehearses UPDATE
        [TRACE, UPDATE, FETCH],  # every page passes TraceMiddleware last
        [BOTH, TRACE],  # stored after TraceMiddleware stripped it
        [TRACE, BOTH],
        [FETCH, TRACE],  # nothing stores pages
        [UPDATE, FETCH, TRACE],  # stored after TraceMiddleware stripped it
    ],
)
def test_check_cache_middleware_in_orders_that_carry_no_visitors_trace(
    settings: Any, middleware: list[str]
) -> None:
    settings.MIDDLEWARE = middleware
    assert check_middleware() == []


@pytest.mark.parametrize(
    "middleware, fetching, updating",
    [
        ([FETCH, TRACE, UPDATE], FETCH, UPDATE),  # Django's order, reversed
        ([FETCH, TRACE, BOTH], FETCH, BOTH),
        ([BOTH, TRACE, UPDATE], BOTH, UPDATE),
    ],
)
def test_check_cache_middleware_that_serves_stored_pages_around_trace_middleware(
    settings: Any, middleware: list[str], fetching: str, updating: str
) -> None:
    settings.MIDDLEWARE = middleware
    [error] = check_middleware()
    assert isinstance(error, Error) and error.id == "metatrace.E002"
    assert error.msg == (
        f"{fetching} comes before metatrace.middleware.TraceMiddleware and {updating} after "
        "it: the cache stores each page with the trace of the visitor who filled it, and "
        "serves it to the next visitors without passing TraceMiddleware."
    )
    assert error.hint == (
        "Use Django's documented order: UpdateCacheMiddleware first, TraceMiddleware after "
        "it, FetchFromCacheMiddleware last."
    )


from metatrace.middleware import TraceMiddleware  # noqa: E402


@pytest.mark.parametrize(
    "middleware, fetching, updating",
    [([FETCH, TRACE, UPDATE], FETCH, UPDATE), ([BOTH, TRACE, UPDATE], BOTH, UPDATE)],
)
def test_the_middleware_refuses_the_order_that_serves_stored_pages_at_start_up(
    settings: Any, middleware: list[str], fetching: str, updating: str
) -> None:
    # Every server builds the middleware chain before its first request; only manage.py
    # runs the system checks.
    settings.MIDDLEWARE = middleware
    with pytest.raises(ImproperlyConfigured) as refused:
        TraceMiddleware(lambda request: HttpResponse())
    assert str(refused.value) == (
        f"{fetching} comes before metatrace.middleware.TraceMiddleware and {updating} after "
        "it: the cache stores each page with the trace of the visitor who filled it, and "
        "serves it to the next visitors without passing TraceMiddleware. Use Django's "
        "documented order: UpdateCacheMiddleware first, TraceMiddleware after it, "
        "FetchFromCacheMiddleware last. (metatrace.E002)"
    )


class SubclassedMiddleware(TraceMiddleware):
    pass


@pytest.mark.parametrize("path", ["/t/streaming/"])
def test_streamed_body_renders_in_the_request_trace(client: Client, path: str) -> None:
    response = client.get(path, headers=HEADERS)
    html = b"".join(response.streaming_content).decode()  # type: ignore[attr-defined]
    assert parse_trace_meta(html)["sentry-trace"].startswith(INCOMING_TRACE)
    assert metatrace.get_active() is None


@pytest.mark.asyncio
async def test_async_streamed_body_renders_in_the_request_trace() -> None:
    response = await AsyncClient().get("/t/async-streaming/", headers=HEADERS)
    chunks = [chunk async for chunk in response.streaming_content]  # type: ignore[attr-defined]
    html = b"".join(chunks).decode()
    assert parse_trace_meta(html)["sentry-trace"].startswith(INCOMING_TRACE)


def test_a_stream_the_client_leaves_is_closed_in_the_request_trace(client: Client) -> None:
    from tests import urls

    urls.closed_in.clear()
    response = client.get("/t/endless/", headers=HEADERS)
    first = next(iter(response.streaming_content))  # type: ignore[attr-defined]
    assert parse_trace_meta(first.decode())["sentry-trace"].startswith(INCOMING_TRACE)
    response.close()  # what the server does when the client goes away
    assert urls.closed_in == [INCOMING_TRACE]
    assert metatrace.get_active() is None


def test_manage_py_check_fails_without_the_app_in_installed_apps(tmp_path: Path) -> None:
    # A project as `django-admin startproject` makes it, with TraceMiddleware but no "metatrace".
    (tmp_path / "project_settings.py").write_text(
        "SECRET_KEY = 'x'\n"
        "INSTALLED_APPS = ['django.contrib.admin', 'django.contrib.auth',"
        " 'django.contrib.contenttypes', 'django.contrib.sessions', 'django.contrib.messages']\n"
        "MIDDLEWARE = ['metatrace.middleware.TraceMiddleware',"
        " 'django.contrib.sessions.middleware.SessionMiddleware',"
        " 'django.contrib.auth.middleware.AuthenticationMiddleware',"
        " 'django.contrib.messages.middleware.MessageMiddleware']\n"
        "TEMPLATES = [{'BACKEND': 'django.template.backends.django.DjangoTemplates',"
        " 'APP_DIRS': True, 'OPTIONS': {'context_processors': ["
        "'django.template.context_processors.request',"
        " 'django.contrib.auth.context_processors.auth',"
        " 'django.contrib.messages.context_processors.messages']}}]\n"
    )
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{ROOT}"}
    env["DJANGO_SETTINGS_MODULE"] = "project_settings"
    command = [sys.executable, "-m", "django", "check"]
    result = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode != 0
    assert result.stderr.strip().endswith(
        "TraceMiddleware needs 'metatrace' in INSTALLED_APPS: without it, the METATRACE "
        'settings and metatrace\'s system checks are ignored. Add "metatrace" to INSTALLED_APPS.'
    )
    # With the app, the same project passes.
    settings_file = tmp_path / "project_settings.py"
    settings_file.write_text(
        settings_file.read_text().replace("INSTALLED_APPS = [", "INSTALLED_APPS = ['metatrace', ")
    )
    result = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
