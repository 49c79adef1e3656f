"""metatrace/_sources/__init__.py: which tracer is the source and why, and the majors tested."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from django.test import Client

import metatrace
from metatrace._sources import describe
from tests import tracers
from tests.conftest import INCOMING_TRACE, parse_trace_meta, run_python
from tests.sources.headers import HEADERS

pytestmark = [pytest.mark.urls("tests.urls"), pytest.mark.usefixtures("django_config")]


def test_describe_names_sentry_while_its_span_runs() -> None:

    metatrace.configure(source="auto")
    with tracers.sentry(), tracers.root_span("t"):
        assert (
            describe() == "source 'auto': sentry-sdk, because its client is active and a span runs"
        )
    assert describe().startswith("source 'auto': metatrace's own context for now")


def test_describe_names_opentelemetry_while_its_span_is_current() -> None:
    from opentelemetry import trace

    tracers.otel_exporter()
    metatrace.configure(source="auto")
    with trace.get_tracer("tests").start_as_current_span("s") as span:
        assert describe() == "source 'auto': OpenTelemetry, because a span is current"
        trace_id = f"{span.get_span_context().trace_id:032x}"
        assert metatrace.current_trace().trace_id == trace_id


def test_describe_says_which_source_and_why() -> None:
    metatrace.configure(source="metatrace")
    assert describe() == "source 'metatrace' (set in the settings)"
    metatrace.configure(source="auto")
    assert describe().startswith("source 'auto': metatrace's own context for now")


def test_opentelemetry_as_the_source_never_asks_sentry() -> None:
    from opentelemetry import trace

    tracers.otel_exporter()
    metatrace.configure(source="opentelemetry")
    with (
        tracers.sentry(),
        tracers.root_span("t") as transaction,
        trace.get_tracer("tests").start_as_current_span("s") as span,
    ):
        current = metatrace.current_trace()
        assert current.trace_id == f"{span.get_span_context().trace_id:032x}"
        assert current.trace_id != transaction.trace_id
    assert describe() == "source 'opentelemetry' (set in the settings)"


NAMED_SOURCE = """
import sys
import metatrace
metatrace.configure(source={source!r})
assert {module!r} not in sys.modules
trace = metatrace.current_trace()
print(json.dumps([{module!r} in sys.modules, trace is metatrace.get_active(), len(trace.trace_id)]))
"""


@pytest.mark.parametrize(
    "source, module", [("sentry_sdk", "sentry_sdk"), ("opentelemetry", "opentelemetry.trace")]
)
def test_a_named_source_is_imported_when_first_needed(source: str, module: str) -> None:
    result = run_python("import json\n" + NAMED_SOURCE.format(source=source, module=module))
    assert result.returncode == 0, result.stderr
    imported, own, length = json.loads(result.stdout)
    assert imported is True
    assert length == 32
    # sentry-sdk always has a trace (its propagation context); OpenTelemetry without a span
    # has none, so metatrace's own context carries the page.
    assert own is (source == "opentelemetry")


def test_auto_with_sentry_loaded_but_inactive_does_not_import_opentelemetry() -> None:
    result = run_python(
        "import sys, sentry_sdk, metatrace\n"
        "trace = metatrace.current_trace()\n"
        "print('opentelemetry.trace' in sys.modules, trace is metatrace.get_active())"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "True"]


def test_auto_with_only_opentelemetry_loaded_carries_its_span() -> None:
    # A site traced by OpenTelemetry alone: sentry-sdk is never imported.
    result = run_python(
        "import sys\n"
        "from opentelemetry import trace\n"
        "from opentelemetry.sdk.trace import TracerProvider\n"
        "import metatrace\n"
        "trace.set_tracer_provider(TracerProvider())\n"
        "with trace.get_tracer('t').start_as_current_span('s') as span:\n"
        "    ours = metatrace.current_trace().trace_id\n"
        "print('sentry_sdk' in sys.modules, ours == f'{span.get_span_context().trace_id:032x}')"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "True"]


def test_auto_imports_no_tracer() -> None:
    code = (
        "import sys, metatrace\n"
        "metatrace.configure(source='auto')\n"
        "metatrace.trace_meta(); metatrace.propagation_headers()\n"
        "print(sorted(m for m in sys.modules if m.startswith(('sentry_sdk', 'opentelemetry'))))"
    )
    result = run_python(code)
    assert result.stdout.strip() == "[]", result.stderr


@pytest.mark.parametrize("source", ["opentelemetry", "auto"])
def test_no_trace_outlives_its_request_when_the_tracer_has_no_span(
    settings: Any, source: str
) -> None:
    # OpenTelemetry without its Django instrumentation, or sentry-sdk without its Django
    # integration: each request must still get a trace of its own, in the same thread.
    import sentry_sdk

    settings.METATRACE = {**settings.METATRACE, "SOURCE": source}
    sentry_sdk.init(dsn=tracers.SENTRY_DSN, default_integrations=False)
    try:
        client = Client()
        first = parse_trace_meta(client.get("/t/tag/").content.decode())
        second = parse_trace_meta(client.get("/t/tag/").content.decode())
        continued = parse_trace_meta(client.get("/t/tag/", headers=HEADERS).content.decode())
    finally:
        sentry_sdk.Scope.get_global_scope().set_client(None)
    assert first["traceparent"][3:35] != second["traceparent"][3:35]
    assert continued["traceparent"][3:35] == INCOMING_TRACE
    assert metatrace.get_active() is None


def test_a_streamed_page_under_metatrace_alone_pins_nothing_and_renders_its_trace() -> None:
    metatrace.configure(source="metatrace", public_key="abc")
    response = Client().get("/t/streaming/", headers=HEADERS)
    html = b"".join(response.streaming_content).decode()  # type: ignore[attr-defined]
    assert parse_trace_meta(html)["sentry-trace"].startswith(INCOMING_TRACE)


def test_the_tracers_installed_here_are_of_tested_majors() -> None:
    import ddtrace  # noqa: F401
    import elasticapm  # noqa: F401
    import opentelemetry.trace  # noqa: F401
    import sentry_sdk  # noqa: F401

    from metatrace._sources import untested

    assert untested() == []


@pytest.mark.parametrize("version", ["4.0.0", "1.45.1", "5.0.0a1"])
def test_a_tracer_of_a_major_not_tested_is_named_once_at_start_up(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, version: str
) -> None:
    import sentry_sdk  # noqa: F401 (imported: the site runs it)

    from metatrace import _sources as sources

    real = sources.metadata.version
    monkeypatch.setattr(
        sources.metadata, "version", lambda name: version if name == "sentry-sdk" else real(name)
    )
    monkeypatch.setattr(sources, "_untested_said", False)
    caplog.set_level(logging.WARNING, logger="metatrace")
    sources.warn_untested()
    sources.warn_untested()
    assert [record.getMessage() for record in caplog.records] == [
        f"metatrace: sentry-sdk {version} is a major release that metatrace has not been tested "
        "with (it is tested with 2.x and 3.x). The pages may name the wrong span; run `python -m "
        "metatrace check` on a page, and see the README for the supported releases."
    ]


def test_a_tracer_outside_any_distribution_is_not_judged(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import sentry_sdk  # noqa: F401

    from metatrace import _sources as sources

    def missing(name: str) -> str:
        raise sources.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(sources.metadata, "version", missing)
    assert sources.untested() == []
