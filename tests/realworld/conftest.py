"""The real-world site: migrated once per session into SQLite in memory, with a superuser,
a home page with a draft, and an article.

This folder needs its own settings: the main run (tests.settings) skips it, and
tests/test_realworld.py runs it in a pytest process of its own.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import INCOMING_SPAN, INCOMING_TRACE, parse_trace_meta, split_sentry_trace

# tests.realworld.settings, or a variant of it next to it.
SETTINGS_PREFIX = "tests.realworld."


def recipes() -> bool:
    """Whether this site has the one-line recipes (settings), or relies on INJECT
    (settings_inject): the same pages must carry the trace either way."""
    from django.conf import settings

    return "tests.realworld.recipes" in settings.INSTALLED_APPS


# What the tests send: a sampled trace, so every tag shows whether it was continued.
HEADERS = {"sentry-trace": f"{INCOMING_TRACE}-{INCOMING_SPAN}-1"}


def continued(html: str) -> str:
    """The span id of the page's tags, once they are shown to continue HEADERS' trace."""
    tags = parse_trace_meta(html)
    trace_id, span_id, flag = split_sentry_trace(tags["sentry-trace"])
    assert (trace_id, flag) == (INCOMING_TRACE, "1")
    assert span_id != INCOMING_SPAN  # the server's own span (design decision 2)
    assert tags["traceparent"] == f"00-{INCOMING_TRACE}-{span_id}-01"
    assert f"sentry-trace_id={INCOMING_TRACE}" in tags["baggage"].split(",")
    return span_id


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    if not os.environ.get("DJANGO_SETTINGS_MODULE", "").startswith(SETTINGS_PREFIX):
        return True
    return None


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    from django.contrib.auth.models import User
    from wagtail.models import Page, Site

    from .models import ArticlePage, HomePage

    with django_db_blocker.unblock():
        User.objects.create_superuser("admin", "admin@example.com", "password")
        root = Page.get_first_root_node()
        home = root.add_child(instance=HomePage(title="Home", slug="site-home", body="Welcome."))
        Site.objects.update(root_page=home)  # the site that Wagtail's migrations made
        home.add_child(instance=ArticlePage(title="Article", slug="article", body="Text."))
        # An unpublished change, so that the preview shows something the live page does not.
        home.title = "Home (draft)"
        home.save_revision()
    yield


@pytest.fixture(autouse=True)
def _site(db: None, django_config: None) -> None:
    """Every test runs on the site's database and its METATRACE settings."""


@pytest.fixture
def admin_client(client: Any) -> Any:
    from django.contrib.auth.models import User

    client.force_login(User.objects.get(username="admin"))
    return client
