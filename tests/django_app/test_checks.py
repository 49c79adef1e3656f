"""metatrace/checks.py: the system checks."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.checks import Error, Warning

from metatrace.checks import check_middleware
from metatrace.middleware import TraceMiddleware
from tests import tracers

pytestmark = pytest.mark.urls("tests.urls")


def test_check_passes_on_the_sample_site() -> None:
    assert check_middleware() == []


def test_check_missing_middleware(settings: Any) -> None:
    settings.MIDDLEWARE = ["django.middleware.common.CommonMiddleware"]
    [error] = check_middleware()
    assert isinstance(error, Error)
    assert error.id == "metatrace.E001"
    assert error.msg == "metatrace.middleware.TraceMiddleware is not in MIDDLEWARE."


def test_a_broken_middleware_entry_is_not_taken_for_trace_middleware(settings: Any) -> None:
    settings.MIDDLEWARE = ["no.such.module.Middleware"]
    messages = check_middleware()
    assert [(type(message), message.id) for message in messages] == [(Error, "metatrace.E001")]


def test_check_subclass_counts_as_the_middleware(settings: Any) -> None:
    settings.MIDDLEWARE = ["tests.django_app.test_checks.SubclassedMiddleware"]
    assert check_middleware() == []


class SubclassedMiddleware(TraceMiddleware):
    pass


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


def test_check_sentry_source_without_its_django_integration(settings: Any) -> None:
    import sentry_sdk

    from metatrace.checks import check_source

    settings.METATRACE = {**settings.METATRACE, "SOURCE": "sentry_sdk"}
    sentry_sdk.init(dsn=tracers.SENTRY_DSN, default_integrations=False)
    try:
        assert [message.id for message in check_source()] == ["metatrace.W003"]
    finally:
        sentry_sdk.Scope.get_global_scope().set_client(None)
    with tracers.sentry():
        assert check_source() == []
