"""Whole requests through Django's WSGI handler: metatrace middleware and tag vs a constant."""

from __future__ import annotations

import io
from collections.abc import Callable
from types import ModuleType
from typing import Any

from .harness import Row, compare, timed_row
from .micro import BAGGAGE, DSN, SENTRY_TRACE

# A small but realistic page: a head, a nav and a list. The smaller the page, the larger the
# share of the tags, so this is on the strict side of what a real site renders.
_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
{head}
<title>{{{{ title }}}} · shop</title>
<link rel="stylesheet" href="/static/site.css">
</head>
<body>
<nav>{{% for href, label in nav %}}<a href="{{{{ href }}}}">{{{{ label }}}}</a>{{% endfor %}}</nav>
<main>
<h1>{{{{ title }}}}</h1>
<ul>{{% for item in items %}}<li>{{{{ item }}}}</li>{{% endfor %}}</ul>
</main>
</body>
</html>
"""
CONSTANT_META = (
    f'<meta name="sentry-trace" content="{SENTRY_TRACE}"><meta name="baggage" content="{BAGGAGE}">'
)
_CONTEXT: dict[str, Any] = {
    "title": "Checkout <step 2>",
    "nav": [(f"/section/{i}/", f"Section {i}") for i in range(6)],
    "items": [f"Item {i} & more" for i in range(20)],
}
_PATHS = ("/dj/trace/", "/dj/constant/", "/jinja/trace/", "/jinja/constant/")
_FLOOR_PATHS = ("/dj/floor/", "/jinja/floor/")
# The constant page with tags that name no trace: our middleware leaves them alone (tags of
# another trace would be replaced as stale).
_UNTAGGED_PATHS = ("/dj/untagged/", "/jinja/untagged/")
_UNTAGGED_META = CONSTANT_META.replace("<meta name=", "<meta itemprop=")


def setup_django() -> tuple[Callable[..., Any], Callable[..., Any], Callable[..., Any]]:
    """Configure Django in this process; return the handlers with our middleware, with none,
    and with the floor's (bench/floor.py). `guaranteed_handler()` gives the other floor's."""
    import django
    import jinja2
    from django.conf import settings
    from django.core.handlers.wsgi import WSGIHandler
    from django.http import HttpRequest, HttpResponse
    from django.shortcuts import render
    from django.urls import path

    backends = {"dj": "django", "jinja": "jinja2"}

    def page(request: HttpRequest, engine: str, name: str) -> HttpResponse:
        return render(request, f"{name}.html", _CONTEXT, using=backends[engine])

    # One pattern for every page, so that each costs Django the same to resolve (a list of
    # patterns is tried in order: a later page would pay for the ones before it).
    urlpatterns = [path("<str:engine>/<str:name>/", page)]
    django_templates = {
        "trace.html": _PAGE.format(head="{% load metatrace %}{% trace_meta %}"),
        "constant.html": _PAGE.format(head=CONSTANT_META),
        "floor.html": _PAGE.format(head="{% load bench_floor %}{% constant_meta %}"),
        "untagged.html": _PAGE.format(head=_UNTAGGED_META),
        "guaranteed.html": _PAGE.format(head="{% load bench_floor %}{% guaranteed_meta %}"),
    }
    jinja_templates = {
        "trace.html": _PAGE.format(head="{{ trace_meta() }}"),
        "constant.html": _PAGE.format(head=CONSTANT_META),
        "floor.html": _PAGE.format(head="{{ constant_meta() }}"),
        "untagged.html": _PAGE.format(head=_UNTAGGED_META),
        "guaranteed.html": _PAGE.format(head="{{ guaranteed_meta() }}"),
    }
    urlconf = ModuleType("bench_urls")
    urlconf.urlpatterns = urlpatterns  # type: ignore[attr-defined]
    if not settings.configured:
        settings.configure(
            DEBUG=False,
            SECRET_KEY="bench",
            ALLOWED_HOSTS=["testserver"],
            INSTALLED_APPS=["metatrace"],
            MIDDLEWARE=["metatrace.middleware.TraceMiddleware"],
            ROOT_URLCONF=urlconf,
            DATABASES={},
            USE_TZ=True,
            METATRACE={
                "DSN": DSN,
                "RELEASE": "shop@1.4.2",
                "ENVIRONMENT": "production",
                "TRACES_SAMPLE_RATE": 1.0,
                # Our own engine: other benchmarks start a sentry-sdk client in this process.
                "SOURCE": "metatrace",
            },
            TEMPLATES=[
                {
                    "BACKEND": "django.template.backends.django.DjangoTemplates",
                    "OPTIONS": {
                        "libraries": {"bench_floor": "bench.floor"},
                        "loaders": [
                            (
                                "django.template.loaders.cached.Loader",
                                [("django.template.loaders.locmem.Loader", django_templates)],
                            )
                        ],
                    },
                },
                {
                    "BACKEND": "django.template.backends.jinja2.Jinja2",
                    "OPTIONS": {
                        "loader": jinja2.DictLoader(jinja_templates),
                        "extensions": ["metatrace.jinja.TraceMetaExtension"],
                    },
                },
            ],
        )
        django.setup()
    settings.MIDDLEWARE = ["metatrace.middleware.TraceMiddleware"]
    traced = WSGIHandler()
    from django.template import engines

    from .floor import constant_meta, guaranteed_meta

    jinja_globals = engines["jinja2"].env.globals  # type: ignore[attr-defined]
    jinja_globals.update(constant_meta=constant_meta, guaranteed_meta=guaranteed_meta)
    settings.MIDDLEWARE = ["bench.floor.header_middleware"]
    floor = WSGIHandler()
    settings.MIDDLEWARE = []
    plain = WSGIHandler()
    return traced, plain, floor


def guaranteed_handler() -> Callable[..., Any]:
    """The handler with the middleware that keeps every guarantee inlined by hand (after
    `setup_django()`)."""
    from django.conf import settings
    from django.core.handlers.wsgi import WSGIHandler

    settings.MIDDLEWARE = ["bench.floor.guaranteed_middleware"]
    handler = WSGIHandler()
    settings.MIDDLEWARE = []
    return handler


def _environ(path: str, continued: bool) -> dict[str, Any]:
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "testserver",
        "HTTP_ACCEPT": "text/html",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(),
        "wsgi.errors": io.StringIO(),
    }
    if continued:
        environ.update(HTTP_SENTRY_TRACE=SENTRY_TRACE, HTTP_BAGGAGE=BAGGAGE)
    return environ


def _start_response(status: str, headers: list[tuple[str, str]], exc_info: object = None) -> None:
    assert status == "200 OK", status


def _client(handler: Callable[..., Any], path: str, continued: bool) -> Callable[[], bytes]:
    def request() -> bytes:
        response = handler(_environ(path, continued), _start_response)
        body = b"".join(response)
        response.close()
        return body

    return request


# The targets: a Django page may cost 6% more than the same page with a constant in place of
# the tag (and no middleware), a Jinja page 10%.
TARGETS = {"Django": 1.06, "Jinja2": 1.10}


def bench_django(rounds: int, seconds: float) -> list[Row]:
    """A browser navigation (nothing incoming: a trace starts) and a continued trace."""
    traced, plain, floor = setup_django()
    guaranteed = guaranteed_handler()
    rows = []
    for label, (ours_path, ref_path), floor_path, untagged_path, guaranteed_path in (
        ("Django", _PATHS[:2], _FLOOR_PATHS[0], _UNTAGGED_PATHS[0], "/dj/guaranteed/"),
        ("Jinja2", _PATHS[2:], _FLOOR_PATHS[1], _UNTAGGED_PATHS[1], "/jinja/guaranteed/"),
    ):
        # What Django or Jinja charge for any middleware that sets a header and any tag, and
        # what our middleware costs on a page without the tag (a trace starts either way, for
        # Server-Timing): the parts of the started-trace row below.
        reference = _client(plain, ref_path, False)
        lowest = _client(floor, floor_path, False)
        middleware_only = _client(traced, untagged_path, False)
        assert lowest() == reference()
        untagged = reference().replace(CONSTANT_META.encode(), _UNTAGGED_META.encode())
        assert middleware_only() == untagged
        t = compare([reference, lowest, middleware_only], rounds, seconds)
        for name, index in (
            ("floor (a header-setting middleware, a constant tag)", 0),
            ("our middleware alone, started trace", 1),
        ):
            # Ratios of medians over an odd number of rounds: 1 / median = median of 1 / x.
            rows.append(
                timed_row(
                    f"{label} page, {name}, vs constant",
                    t.micros[index + 1],
                    t.micros[0],
                    1 / t.ratios[index],
                    None,
                )
            )
        for continued in (False, True):
            ours = _client(traced, ours_path, continued)
            reference = _client(plain, ref_path, continued)
            html = ours().decode()
            assert "sentry-release=shop%401.4.2" in html, html
            assert (SENTRY_TRACE[:32] in html) is continued, html
            assert len(reference()) > 0.9 * len(html)
            kind = "continued" if continued else "started"
            if not continued:
                # The floor of our own work: the same page, every guarantee inlined by hand.
                by_hand = _client(guaranteed, guaranteed_path, False)
                assert b"sentry-release=shop%401.4.2" in by_hand()
                t = compare([ours, reference, by_hand], rounds, seconds)
                rows.append(
                    timed_row(
                        f"{label} page, every guarantee inlined by hand, started trace, "
                        "vs constant",
                        t.micros[2],
                        t.micros[1],
                        t.ratios[0] / t.ratios[1],
                        None,
                    )
                )
            else:
                t = compare([ours, reference], rounds, seconds)
            rows.append(
                timed_row(
                    f"{label} page, {kind} trace, vs constant",
                    t.micros[0],
                    t.micros[1],
                    t.ratios[0],
                    TARGETS[label],
                )
            )
    return rows
