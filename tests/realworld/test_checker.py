"""`python -m metatrace check` on the real-world site, through a live server: every page the
site renders on purpose passes, logged in and not; a page behind the login, checked without
the session, fails for what it is; and the JSON API, asked for as JSON, has nothing to judge."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from metatrace.checker import OK, Options, Report, check, render
from tests.realworld.models import ArticlePage, HomePage

DSN = "https://49d0f7386ad645858ae85020e393bef3@o447951.ingest.sentry.io/5428557"


@pytest.fixture(scope="module")
def site(django_db_setup: None, django_db_blocker: Any) -> Iterator[str]:
    """A live server of the site, on the in-memory database the tests use, as Django's
    LiveServerTestCase runs one; not pytest-django's `live_server`, whose transactional
    database would empty the site for the tests after it."""
    from django.db import connections
    from django.test.testcases import LiveServerThread, _StaticFilesHandler

    with django_db_blocker.unblock():
        shared = {
            connection.alias: connection
            for connection in connections.all()
            if connection.vendor == "sqlite" and connection.is_in_memory_db()
        }
        for connection in shared.values():
            connection.inc_thread_sharing()
        thread = LiveServerThread("127.0.0.1", _StaticFilesHandler, shared, port=0)
        thread.daemon = True
        thread.start()
        thread.is_ready.wait()
        if thread.error:
            raise thread.error
        try:
            yield f"http://127.0.0.1:{thread.port}"
        finally:
            thread.terminate()
            for connection in shared.values():
                connection.dec_thread_sharing()


@pytest.fixture
def session(admin_client: Any) -> Options:
    """What a logged-in editor's browser sends: the session cookie of the admin user."""
    return Options(cookies=(f"sessionid={admin_client.cookies['sessionid'].value}",))


def _passes(report: Report) -> None:
    assert report.exit_status == OK, render(report)
    assert report.judged == report.url, render(report)  # the page asked for, no redirect


@pytest.mark.parametrize(
    "path", ["/", "/article/", "/admin/login/", "/django-admin/login/", "/api/pages/", "/nope/"]
)
def test_the_pages_of_a_visitor_pass(site: str, path: str) -> None:
    _passes(check(site + path, dsn=DSN))


def test_the_pages_of_a_logged_in_editor_pass(site: str, session: Options) -> None:
    home, article = HomePage.objects.get(), ArticlePage.objects.get()
    for path in [
        "/",  # with Wagtail's userbar
        "/admin/",
        f"/admin/pages/{home.id}/edit/",
        f"/admin/pages/{home.id}/view_draft/",  # the preview: a nested run of the middleware
        f"/admin/pages/{article.id}/edit/",
        "/django-admin/",
        "/django-admin/auth/user/",
        "/api/pages/",  # the browsable API
    ]:
        _passes(check(site + path, dsn=DSN, options=session))


@pytest.mark.parametrize("path", ["/admin/", "/django-admin/"])
def test_a_page_behind_the_login_checked_without_the_session_fails_for_what_it_is(
    site: str, path: str
) -> None:
    report = check(site + path, dsn=DSN)
    assert report.exit_status != OK
    assert report.judged is not None and "/login/" in report.judged
    [failed] = [finding.text for finding in report.findings("fail")]
    assert failed.startswith(f"judged {report.judged}, not {site}{path}: ")
    # The login page itself is judged on its merits: its handshake works.
    assert any(text.startswith("continued: ") for text in _texts(report, "ok"))


def test_the_json_api_asked_for_as_json_has_nothing_to_judge(site: str) -> None:
    report = check(site + "/api/pages/", options=Options(accept="application/json"))
    assert report.exit_status == OK, render(report)
    assert [finding.text.partition(")")[0] for finding in report.findings("warn")] == [
        "not an HTML page (application/json"
    ]


def _texts(report: Report, level: str) -> list[str]:
    return [finding.text for finding in report.findings(level)]  # type: ignore[arg-type]
