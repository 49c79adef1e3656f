"""metatrace/conf.py: the METATRACE settings, the app that must be installed, the source logged."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

import metatrace
from metatrace._core.config import get_config
from metatrace.middleware import TraceMiddleware
from tests.conftest import run_python

pytestmark = pytest.mark.urls("tests.urls")


ROOT = Path(__file__).resolve().parents[2]


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


def test_a_server_without_the_app_in_installed_apps_stops_at_start_up(tmp_path: Path) -> None:
    # A project as `django-admin startproject` makes it, with TraceMiddleware but no "metatrace".
    # Every server builds the middleware chain as it loads the application, before its first
    # request; importing the middleware checks nothing (Django's own checks import it).
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
    command = [
        sys.executable,
        "-c",
        "from django.core.wsgi import get_wsgi_application; get_wsgi_application()",
    ]
    result = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode != 0
    assert result.stderr.strip().endswith(
        "TraceMiddleware needs 'metatrace' in INSTALLED_APPS: without it, the METATRACE "
        'settings and metatrace\'s system checks are ignored. Add "metatrace" to INSTALLED_APPS.'
    )
    # With the app, the same project loads.
    settings_file = tmp_path / "project_settings.py"
    settings_file.write_text(
        settings_file.read_text().replace("INSTALLED_APPS = [", "INSTALLED_APPS = ['metatrace', ")
    )
    result = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


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
