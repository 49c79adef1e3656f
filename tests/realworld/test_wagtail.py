"""Wagtail 8: pages, the preview (view_draft and the editor's preview panel), the admin."""

from __future__ import annotations

from typing import Any

import pytest
from bs4 import BeautifulSoup
from django.template import TemplateSyntaxError, engines
from django.test import AsyncClient

from metatrace.checker.read import read_meta
from tests.realworld.conftest import HEADERS, continued
from tests.realworld.models import HomePage


def test_a_page_continues_the_trace(client: Any) -> None:
    response = client.get("/", headers=HEADERS)
    assert response.status_code == 200
    assert "<h1>Home</h1>" in response.content.decode()
    continued(response.content.decode())


def test_wagtail_sends_no_cache_control_by_default(client: Any) -> None:
    # The fact docs/third-party.md warns about: a CDN with a default expiry may store the page.
    response = client.get("/")
    assert not response.has_header("Cache-Control")
    assert not response.has_header("Expires")


def test_the_cache_control_recipe_keeps_shared_caches_out(client: Any) -> None:
    response = client.get("/article/", headers=HEADERS)
    assert response["Cache-Control"] == "private"
    continued(response.content.decode())


def test_view_draft_continues_the_requests_trace(admin_client: Any) -> None:
    # Wagtail's preview runs the whole middleware chain again on a dummy request that
    # carries no trace headers; the preview must still render this request's trace.
    home = HomePage.objects.get()
    response = admin_client.get(f"/admin/pages/{home.id}/view_draft/", headers=HEADERS)
    html = response.content.decode()
    assert response.status_code == 200
    assert "<h1>Home (draft)</h1>" in html
    continued(html)


@pytest.mark.asyncio
async def test_view_draft_under_asgi_continues_the_requests_trace() -> None:
    from asgiref.sync import sync_to_async
    from django.contrib.auth.models import User

    home = await HomePage.objects.aget()
    client = AsyncClient()
    await client.aforce_login(await sync_to_async(User.objects.get)(username="admin"))
    response = await client.get(f"/admin/pages/{home.id}/view_draft/", headers=HEADERS)
    assert response.status_code == 200
    continued(response.content.decode())


def _edit_form(admin_client: Any, page_id: int) -> dict[str, Any]:
    """The editor's form fields as the browser would submit them."""
    html = admin_client.get(f"/admin/pages/{page_id}/edit/").content.decode()
    form = BeautifulSoup(html, "html.parser").find("form", attrs={"data-edit-form": True})
    assert form is not None, "the editor's form"
    data: dict[str, Any] = {}
    for field in form.find_all(["input", "textarea", "select"]):
        name = field.get("name")
        if not name or field.get("type") in ("submit", "button", "file"):
            continue
        if field.get("type") in ("checkbox", "radio") and not field.has_attr("checked"):
            continue
        if field.name == "textarea":
            data[name] = field.text
        elif field.name == "select":
            selected = field.find("option", selected=True)
            data[name] = selected.get("value", "") if selected else ""
        else:
            data[name] = field.get("value", "")
    return data


def test_the_preview_panel_continues_the_requests_trace(admin_client: Any) -> None:
    home = HomePage.objects.get()
    data = {**_edit_form(admin_client, home.id), "title": "Previewed title"}
    preview = f"/admin/pages/{home.id}/edit/preview/"
    posted = admin_client.post(preview, data)
    assert posted.json()["is_valid"] is True
    response = admin_client.get(preview, {"mode": ""}, headers=HEADERS)
    html = response.content.decode()
    assert "<h1>Previewed title</h1>" in html
    continued(html)


def test_a_page_with_the_userbar_carries_one_set_of_tags(admin_client: Any) -> None:
    # An editor who is logged in sees the front end with Wagtail's userbar, whose <template>
    # holds the admin's CSS: the tags must not come with it (the recipe of an earlier version,
    # the insert_global_admin_css hook, printed them there too).
    response = admin_client.get("/", headers=HEADERS)
    html = response.content.decode()
    assert 'id="wagtail-userbar-template"' in html
    found = read_meta(html)  # every <meta>, inside <template> too, as the checker reads them
    assert {name: len(values) for name, values in found.items()} == {
        "sentry-trace": 1,
        "baggage": 1,
        "traceparent": 1,
    }
    continued(html)


@pytest.mark.parametrize("path", ["/admin/login/"])
def test_the_admin_login_carries_the_trace(client: Any, path: str) -> None:
    response = client.get(path, headers=HEADERS)
    assert response.status_code == 200
    continued(response.content.decode())


def test_the_admin_dashboard_and_editor_carry_the_trace(admin_client: Any) -> None:
    home = HomePage.objects.get()
    for path in ["/admin/", f"/admin/pages/{home.id}/edit/", "/admin/pages/"]:
        response = admin_client.get(path, headers=HEADERS)
        assert response.status_code == 200, path
        html = response.content.decode()
        head = BeautifulSoup(html, "html.parser").head
        assert head is not None and head.find("meta", attrs={"name": "sentry-trace"}), path
        continued(html)


@pytest.mark.parametrize(
    "source",
    [
        "{% load wagtail_cache metatrace %}{% wagtailcache 60 head %}{% trace_meta %}"
        "{% endwagtailcache %}",
        "{% load wagtail_cache metatrace %}{% wagtailpagecache 60 head %}{% trace_meta %}"
        "{% endwagtailpagecache %}",
    ],
)
def test_the_tag_refuses_wagtails_cache_blocks(source: str) -> None:
    tag = source.split("{% ")[2].split()[0]
    with pytest.raises(TemplateSyntaxError) as raised:
        engines["django"].from_string(source)
    assert str(raised.value).startswith(f"{{% trace_meta %}} is inside {{% {tag} %}}: ")
