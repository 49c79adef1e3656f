"""The Django admin, DRF's browsable API and the error pages, with DEBUG = False."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.views.defaults import server_error

import metatrace
from tests.conftest import parse_trace_meta
from tests.realworld.conftest import HEADERS, continued, recipes

# Django admin: templates/admin/base_site.html extends the admin's own, adding the tag.


def test_the_django_admin_login_carries_the_trace(client: Any) -> None:
    response = client.get("/django-admin/login/", headers=HEADERS)
    assert response.status_code == 200
    assert "Django administration" in response.content.decode()  # the admin's own branding
    continued(response.content.decode())


@pytest.mark.parametrize(
    "path", ["/django-admin/", "/django-admin/auth/user/", "/django-admin/auth/user/1/change/"]
)
def test_django_admin_pages_carry_the_trace(admin_client: Any, path: str) -> None:
    response = admin_client.get(path, headers=HEADERS)
    assert response.status_code == 200
    continued(response.content.decode())


# DRF: templates/rest_framework/api.html extends DRF's own, adding the tag to its meta block.


def test_the_browsable_api_carries_the_trace(client: Any) -> None:
    response = client.get("/api/pages/", headers={**HEADERS, "Accept": "text/html"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    continued(response.content.decode())


def test_the_json_api_is_left_alone(client: Any) -> None:
    response = client.get("/api/pages/", headers={**HEADERS, "Accept": "application/json"})
    titles = [page["title"] for page in response.json()]
    assert titles == ["Welcome to your new Wagtail site!", "Home", "Article"]


# Error pages: 404.html and 500.html use the tag.


def test_debug_is_off() -> None:
    assert settings.DEBUG is False


@pytest.mark.parametrize("path", ["/no-such-page/", "/api/no-such-endpoint/"])
def test_the_404_page_carries_the_trace(client: Any, path: str) -> None:
    response = client.get(path, headers=HEADERS)
    assert response.status_code == 404
    # The recipe's 404.html, or Django's own page, which prints no tags: injected then.
    assert ("<h1>Not found</h1>" in response.content.decode()) is recipes()
    continued(response.content.decode())


def test_the_500_page_carries_the_trace() -> None:
    client = Client(raise_request_exception=False)
    response = client.get("/failing/", headers=HEADERS)
    assert response.status_code == 500
    assert ("<h1>Server error</h1>" in response.content.decode()) is recipes()
    continued(response.content.decode())


def test_the_context_processor_does_not_reach_the_500_page(rf: Any) -> None:
    # Django renders 500.html without the request, so no context processor runs: the
    # `{{ trace_meta }}` variable is empty there, and the tag is the way (docs/third-party.md).
    with metatrace.trace_scope({"sentry-trace": HEADERS["sentry-trace"]}):
        response = server_error(rf.get("/"), template_name="realworld/500_context_processor.html")
    assert "<h1>Server error</h1>" in response.content.decode()
    assert parse_trace_meta(response.content.decode()) == {}


@pytest.mark.parametrize("path", ["/django-admin/login/", "/no-such-page/", "/admin/login/"])
def test_without_injection_only_the_recipes_carry_the_trace(
    client: Any, settings: Any, path: str
) -> None:
    # What makes the variant's pages carry the trace is INJECT, nothing else.
    settings.METATRACE = {**settings.METATRACE, "INJECT": False}
    html = client.get(path, headers=HEADERS).content.decode()
    assert bool(parse_trace_meta(html)) is recipes()
