"""metatrace/checker/report.py: the verdict, the exit status, and a report safe to print."""

from __future__ import annotations

from typing import Any

import pytest

from metatrace.checker import OK, check, render
from tests.checker.servers import SITE_DSN, _texts, _with_dsn
from tests.conftest import SAMPLE_PAGES

pytestmark = [pytest.mark.usefixtures("django_config")]


@pytest.mark.parametrize("path", SAMPLE_PAGES)
def test_the_sample_site_passes(live_server: Any, settings: Any, path: str) -> None:
    _with_dsn(settings)
    report = check(live_server.url + path, dsn=SITE_DSN)
    assert report.exit_status == OK, render(report)
    assert _texts(report, "fail") == [] and _texts(report, "warn") == []
    assert "continued: same trace id" in render(report)
    assert "Result: the handshake works (exit status 0)" in render(report)


def test_what_a_page_sends_cannot_drive_the_terminal(pages: str) -> None:
    text = render(check(pages + "/hostile/"))
    assert all(line.isprintable() for line in text.splitlines())
    assert "meta sentry-trace: invalid: '\\x1b[2J\\u202e'" in text
    assert "Via: 1.1 \\x1b]0;owned\\x07proxy (through a proxy)" in text
