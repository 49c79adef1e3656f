"""metatrace/_core/config.py: configure(), Sentry's environment defaults, bad values by name."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

import metatrace
from metatrace._core import config as configuration
from metatrace._core.config import SettingError, get_config
from tests.conftest import run_python
from tests.core.incoming import DSN


def test_defaults_come_from_sentrys_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SENTRY_DSN", "https://abc123@o9.ingest.us.sentry.io/77")
    monkeypatch.setenv("SENTRY_RELEASE", "shop@3.1")
    monkeypatch.setenv("SENTRY_ENVIRONMENT", "staging")
    config = metatrace.configure(traces_sample_rate=0.1)
    assert config == metatrace.Config(
        public_key="abc123",
        org_id="9",
        release="shop@3.1",
        environment="staging",
        traces_sample_rate=0.1,
        w3c=False,
    )
    assert get_config() is config


@pytest.mark.parametrize(
    "first_use",
    [
        lambda: str(metatrace.trace_meta()),
        metatrace.get_traceparent,
        lambda: str(metatrace.TraceContext().meta()),
        lambda: metatrace.TraceContext().page_fields(),
    ],
    ids=["trace_meta", "get_traceparent", "meta", "page_fields"],
)
def test_a_process_that_never_configures_reads_the_environment_on_first_use(
    monkeypatch: pytest.MonkeyPatch, first_use: Any
) -> None:
    # A script or a Jinja site without Django: no configure() call before the first tags.
    monkeypatch.setenv("SENTRY_DSN", "https://abc123@o9.ingest.us.sentry.io/77")
    monkeypatch.setattr(configuration, "configured", None)
    assert first_use()
    assert configuration.configured is not None
    assert configuration.configured.public_key == "abc123"


def test_explicit_values_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SENTRY_DSN", "https://abc123@o9.ingest.us.sentry.io/77")
    config = metatrace.configure(dsn=None, public_key="def456", release="r", environment=None)
    assert (config.public_key, config.org_id, config.environment) == ("def456", None, "production")


def test_no_key_means_nothing_is_frozen() -> None:
    assert metatrace.configure(dsn=None) == metatrace.Config()


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (
            {"dsn": "not a dsn"},
            "metatrace: dsn 'not a dsn' is not a Sentry DSN; expected https://PUBLIC_KEY@HOST/PROJECT_ID",
        ),
        ({"dsn": 5}, "metatrace: dsn must be a string or None, not int"),
        (
            {"public_key": "a-b"},
            "metatrace: public_key 'a-b' is not a Sentry public key (letters and digits)",
        ),
        (
            {"dsn": "https://abc@sentry.io/1", "public_key": "xyz"},
            "metatrace: public_key disagrees with the key in dsn; set only one",
        ),
        (
            {"traces_sample_rate": 1.5},
            "metatrace: traces_sample_rate 1.5 must be a number from 0.0 to 1.0, or None",
        ),
        (
            {"traces_sample_rate": True},
            "metatrace: traces_sample_rate True must be a number from 0.0 to 1.0, or None",
        ),
        (
            {"traces_sample_rate": "0.5"},
            "metatrace: traces_sample_rate '0.5' must be a number from 0.0 to 1.0, or None",
        ),
        ({"release": b"1.0"}, "metatrace: release must be a string or None, not bytes"),
        ({"w3c": "yes"}, "metatrace: w3c must be True or False, not 'yes'"),
    ],
)
def test_bad_values_fail_with_a_message_naming_them(kwargs: dict[str, Any], message: str) -> None:
    before = get_config()
    with pytest.raises(SettingError) as raised:
        metatrace.configure(**kwargs)
    assert str(raised.value) == message
    assert isinstance(raised.value, ValueError)
    assert get_config() is before  # never half-applied


def test_self_hosted_dsn_with_path_and_port() -> None:
    config = metatrace.configure(dsn="http://key1:secret@sentry.internal:9000/prefix/12")
    assert (config.public_key, config.org_id) == ("key1", None)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (
            {"org_id": "o12"},
            "metatrace: org_id 'o12' must be a string of digits, like the 123 of o123.ingest.sentry.io",  # noqa: E501
        ),
        (
            {"strict_trace_continuation": 1},
            "metatrace: strict_trace_continuation must be True or False, not 1",
        ),
        (
            {"allow_cached_tag": None},
            "metatrace: allow_cached_tag must be True or False, not None",
        ),
        (
            {"release": "\ud800"},
            "metatrace: release '\\ud800' is not valid text (it cannot be encoded as UTF-8)",
        ),
        (
            {"sentry_browser_version": "11.x"},
            "metatrace: sentry_browser_version '11.x' is not a version of @sentry/browser, such "
            "as '11.17.0' (see your package.json), or None",
        ),
    ],
)
def test_more_bad_values(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(SettingError) as raised:
        metatrace.configure(**kwargs)
    assert str(raised.value) == message


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"environment": 5}, "metatrace: environment must be a string or None, not int"),
        (
            {"environment": "\udc80"},
            "metatrace: environment '\\udc80' is not valid text (it cannot be encoded as UTF-8)",
        ),
        (
            {"org_id": 123},
            "metatrace: org_id 123 must be a string of digits, like the 123 of o123.ingest.sentry.io",  # noqa: E501
        ),
        (
            {"org_id": "\u0661\u0662"},  # digits, but not ASCII ones
            "metatrace: org_id '\u0661\u0662' must be a string of digits, like the 123 of o123.ingest.sentry.io",  # noqa: E501
        ),
        ({"strip_cacheable": "no"}, "metatrace: strip_cacheable must be True or False, not 'no'"),
        ({"server_timing": 0}, "metatrace: server_timing must be True or False, not 0"),
        ({"inject": "on"}, "metatrace: inject must be True or False, not 'on'"),
        (
            {"source": "datadog"},
            "metatrace: source 'datadog' is not one of 'auto', 'metatrace', 'sentry_sdk', "
            "'opentelemetry', 'ddtrace', 'elasticapm'",
        ),
    ],
)
def test_each_setting_is_named_in_its_error(kwargs: dict[str, Any], message: str) -> None:
    before = get_config()
    with pytest.raises(SettingError) as raised:
        metatrace.configure(**kwargs)
    assert str(raised.value) == message
    assert raised.value.name == next(iter(kwargs))
    assert get_config() is before


def test_the_first_get_config_reads_sentrys_environment_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """In a fresh interpreter, nothing configured yet: get_config() configures from the
    environment, once."""
    monkeypatch.setenv("SENTRY_DSN", "https://abc123@o9.ingest.sentry.io/77")
    monkeypatch.setenv("SENTRY_RELEASE", "shop@4.0")
    code = (
        "from metatrace._core.config import get_config\n"
        "config = get_config()\n"
        "assert get_config() is config\n"
        "print(config.public_key, config.org_id, config.release, config.environment)"
    )
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["abc123", "9", "shop@4.0", "production"]
    configured = metatrace.configure()  # in this process: the last configure() is kept
    assert get_config() is configured


@pytest.mark.parametrize(
    "dsn, public_key, org_id",
    [
        ("https://09azAZ@o1.ingest.sentry.io/1", "09azAZ", "1"),  # each end of each range
        ("https://key1:@sentry.io/5", "key1", None),  # an empty secret
        ("https://key1@sentry.io//5", "key1", None),  # an empty path segment
        ("https://key1@o.example.com/5", "key1", None),  # an "o" host without an org number
        ("https://key1@o42.example.com/5", "key1", "42"),
    ],
)
def test_dsns_that_sentrys_sdk_reads_too(dsn: str, public_key: str, org_id: str | None) -> None:
    from sentry_sdk.utils import Dsn as SdkDsn  # the reference: sentry-sdk's own parser

    assert SdkDsn(dsn).public_key == public_key
    config = metatrace.configure(dsn=dsn)
    assert (config.public_key, config.org_id) == (public_key, org_id)


@pytest.mark.parametrize(
    "dsn",
    [
        "https://@sentry.io/1",  # no public key
        "https://key:a/b@sentry.io/1",  # a "/" in the secret
        "https://key:x@y@sentry.io/1",  # an "@" in the secret
        "https://key@x@sentry.io/1",  # an "@" in the host
        "https://key@/x/1",  # no host
        "https://key@/1",
        "https://key@sentry.io/a?b/1",  # a query or a fragment before the project id
        "https://key@sentry.io/a#b/1",
        "https://key@sentry.io/",  # no project id
    ],
)
def test_malformed_dsns_fail_by_name(dsn: str) -> None:
    with pytest.raises(SettingError) as raised:
        metatrace.configure(dsn=dsn)
    assert raised.value.name == "dsn"


def test_public_key_ranges_and_emptiness() -> None:
    assert metatrace.configure(public_key="09azAZ").public_key == "09azAZ"
    with pytest.raises(SettingError) as raised:
        metatrace.configure(public_key="")
    assert raised.value.name == "public_key"


@pytest.mark.parametrize("source", ["auto", "metatrace", "sentry_sdk", "opentelemetry"])
def test_every_source_is_accepted(source: str) -> None:
    assert metatrace.configure(source=source).source == source


def test_org_id_comes_from_the_dsn_unless_set() -> None:
    assert metatrace.configure(dsn=DSN).org_id == "447951"
    assert metatrace.configure(dsn=DSN, org_id="12").org_id == "12"


@pytest.mark.parametrize("version", ["11", "eleven", "11.x", "", 11.17])
def test_a_bad_browser_version_fails_fast_naming_the_setting(version: Any) -> None:
    with pytest.raises(
        SettingError, match=r"^metatrace: sentry_browser_version .* is not a version"
    ):
        metatrace.configure(sentry_browser_version=version)


@pytest.mark.parametrize(
    "targets, problem",
    [
        ("api.example.com", "must be a list of regular expressions, or None, not 'api."),
        ({"a": 1}, "must be a list of regular expressions, or None, not {"),
        (["ok", 3], "must hold strings (regular expressions), not 3"),
        (["ok", "(unclosed"], "'(unclosed' is not a regular expression: missing )"),
    ],
    ids=["a-string", "a-dict", "a-number-inside", "a-bad-pattern"],
)
def test_bad_propagation_targets_are_named(targets: Any, problem: str) -> None:
    with pytest.raises(SettingError) as raised:
        metatrace.configure(propagation_targets=targets)
    assert raised.value.name == "propagation_targets"
    assert raised.value.problem.startswith(problem)


def test_propagation_targets_are_kept_as_a_tuple() -> None:
    assert metatrace.configure(propagation_targets=["a", r"^https://b\."]).propagation_targets == (
        "a",
        r"^https://b\.",
    )


def test_tracestate_needs_w3c(settings: Any) -> None:
    with pytest.raises(SettingError, match=r"^metatrace: tracestate travels with traceparent"):
        metatrace.configure(tracestate=True)
    with pytest.raises(ImproperlyConfigured, match=r"^METATRACE\['TRACESTATE'\] travels with"):
        settings.METATRACE = {"TRACESTATE": True}  # applied as the setting changes


def test_the_trace_metric_needs_server_timing(settings: Any) -> None:
    with pytest.raises(SettingError, match=r"^metatrace: trace_metric is a Server-Timing entry"):
        metatrace.configure(trace_metric=True, server_timing=False)
    with pytest.raises(ImproperlyConfigured, match=r"^METATRACE\['TRACE_METRIC'\] is a Server"):
        settings.METATRACE = {"TRACE_METRIC": True, "SERVER_TIMING": False}


def test_an_unknown_source_fails_fast() -> None:
    with pytest.raises(SettingError, match="'sentry' is not one of 'auto', 'metatrace'"):
        metatrace.configure(source="sentry")


def test_a_source_that_is_not_installed_fails_fast() -> None:
    code = (
        "import sys; sys.modules['sentry_sdk'] = None\n"
        "import metatrace\n"
        "try:\n    metatrace.configure(source='sentry_sdk')\n"
        "except ValueError as error:\n    print(error)\n"
    )
    result = run_python(code)
    assert result.stdout.strip() == (
        "metatrace: source 'sentry_sdk' needs sentry_sdk: pip install 'metatrace-html[sentry]'"
    )


# A source whose tracer is not installed: sys.modules[name] = None is how Python itself says
# "cannot be imported", so a fresh interpreter with that entry stands for one without it.
MISSING = """
import sys
sys.modules[{module!r}] = None
from metatrace._core.config import SettingError, configure
try:
    configure(source={source!r})
except SettingError as error:
    print(error.name, "|", error.problem)
"""


@pytest.mark.parametrize(
    "module, source, extra",
    [("sentry_sdk", "sentry_sdk", "sentry"), ("opentelemetry", "opentelemetry", "otel")],
)
def test_a_source_whose_tracer_is_missing_names_the_extra(
    module: str, source: str, extra: str
) -> None:
    result = run_python(MISSING.format(module=module, source=source))
    assert result.returncode == 0, result.stderr
    name, problem = result.stdout.strip().split(" | ")
    assert name == "source"
    assert problem == f"{source!r} needs {module}: pip install 'metatrace-html[{extra}]'"
