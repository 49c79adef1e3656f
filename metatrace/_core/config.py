"""Head-of-trace settings: who we are when metatrace starts a trace, and which tags to emit."""

from __future__ import annotations

import enum
import os
import re
from collections.abc import Sequence
from typing import Final, NamedTuple

from .extras import SOURCE_MODULES, importable


class _Unset(enum.Enum):
    UNSET = enum.auto()


UNSET: Final = _Unset.UNSET
_DSN_RE = re.compile(r"https?://([0-9a-zA-Z]+)(?::[^@/]*)?@([^/@]+)/(?:[^?#]*/)?(\d+)/?")
_PUBLIC_KEY_RE = re.compile(r"[0-9a-zA-Z]+")
_ORG_HOST_RE = re.compile(r"o([0-9]+)\.")


class SettingError(ValueError):
    """A bad setting; `name` is the configure() argument at fault."""

    def __init__(self, name: str, problem: str) -> None:
        super().__init__(f"metatrace: {name} {problem}")
        self.name = name
        self.problem = problem


SOURCES = ("auto", "metatrace", "sentry_sdk", "opentelemetry", "ddtrace", "elasticapm")


class Config(NamedTuple):
    public_key: str | None = None
    org_id: str | None = None
    release: str | None = None
    environment: str | None = None
    traces_sample_rate: float | None = None
    w3c: bool = False
    strict_trace_continuation: bool = False
    strip_cacheable: bool = True
    source: str = "auto"
    propagation_targets: tuple[str, ...] | None = None
    server_timing: bool = True
    inject: bool = False
    allow_cached_tag: bool = False
    # The @sentry/browser release the pages load, as (major, minor); None: unknown.
    sentry_browser: tuple[int, int] | None = None
    # New fields go last, so that positional construction and unpacking keep working.
    tracestate: bool = False
    trace_metric: bool = False

    @property
    def browser_fills_dsc(self) -> bool:
        """Whether the pages' @sentry/browser continues a `sentry-trace` that comes without
        a DSC with one of its own (11.17 and later); earlier ones freeze an empty DSC."""
        return self.sentry_browser is not None and self.sentry_browser >= BROWSER_FILLS_DSC


# The first @sentry/browser release whose propagationContextFromHeaders leaves the DSC open
# (`dsc: dynamicSamplingContext`) instead of freezing `{}` (11.12.0 is the last to freeze it).
BROWSER_FILLS_DSC = (11, 17)
_VERSION_RE = re.compile(r"v?(\d+)\.(\d+)(?:\.\d+)?(?:[-+][0-9A-Za-z.-]*)?")


# The active settings once configured; hot paths read `configured or get_config()`, which
# costs no call once it is set.
configured: Config | None = None


def get_config() -> Config:
    """The active settings; the first call reads SENTRY_DSN, SENTRY_RELEASE, SENTRY_ENVIRONMENT."""
    return configured if configured is not None else configure()


def configure(
    *,
    dsn: str | _Unset | None = UNSET,
    public_key: str | None = None,
    release: str | _Unset | None = UNSET,
    environment: str | _Unset | None = UNSET,
    traces_sample_rate: float | None = None,
    w3c: bool = False,
    tracestate: bool = False,
    trace_metric: bool = False,
    org_id: str | None = None,
    strict_trace_continuation: bool = False,
    strip_cacheable: bool = True,
    source: str = "auto",
    propagation_targets: Sequence[str] | None = None,
    server_timing: bool = True,
    inject: bool = False,
    allow_cached_tag: bool = False,
    sentry_browser_version: str | None = None,
) -> Config:
    """Replace the settings. An omitted dsn, release or environment falls back to Sentry's
    environment variables. A bad value raises SettingError (a ValueError) that names it.
    """
    global configured
    dsn = _env_default(dsn, "SENTRY_DSN", "dsn")
    release = _env_default(release, "SENTRY_RELEASE", "release")
    environment = _env_default(environment, "SENTRY_ENVIRONMENT", "environment")
    if public_key is not None and (
        not isinstance(public_key, str) or not _PUBLIC_KEY_RE.fullmatch(public_key)
    ):
        raise SettingError(
            "public_key", f"{public_key!r} is not a Sentry public key (letters and digits)"
        )
    if org_id is not None and (
        not isinstance(org_id, str) or not org_id.isascii() or not org_id.isdigit()
    ):
        raise SettingError(
            "org_id",
            f"{org_id!r} must be a string of digits, like the 123 of o123.ingest.sentry.io",
        )
    if dsn:
        dsn_key, dsn_org = parse_dsn(dsn)
        if public_key is not None and public_key != dsn_key:
            raise SettingError("public_key", "disagrees with the key in dsn; set only one")
        public_key = dsn_key
        if org_id is None:
            org_id = dsn_org
    if traces_sample_rate is not None and (
        isinstance(traces_sample_rate, bool)
        or not isinstance(traces_sample_rate, (int, float))
        or not 0.0 <= traces_sample_rate <= 1.0
    ):
        raise SettingError(
            "traces_sample_rate",
            f"{traces_sample_rate!r} must be a number from 0.0 to 1.0, or None",
        )
    for name, flag in (
        ("w3c", w3c),
        ("tracestate", tracestate),
        ("trace_metric", trace_metric),
        ("strict_trace_continuation", strict_trace_continuation),
        ("strip_cacheable", strip_cacheable),
        ("server_timing", server_timing),
        ("inject", inject),
        ("allow_cached_tag", allow_cached_tag),
    ):
        if not isinstance(flag, bool):
            raise SettingError(name, f"must be True or False, not {flag!r}")
    if tracestate and not w3c:
        raise SettingError(
            "tracestate", "travels with traceparent: set w3c too (W3C = True in Django)"
        )
    if trace_metric and not server_timing:
        raise SettingError(
            "trace_metric",
            "is a Server-Timing entry: leave server_timing on (SERVER_TIMING = True in Django)",
        )
    if source not in SOURCES:
        raise SettingError("source", f"{source!r} is not one of {', '.join(map(repr, SOURCES))}")
    if source in SOURCE_MODULES:
        module, extra = SOURCE_MODULES[source]
        if not importable(module):
            raise SettingError(
                "source",
                f"{source!r} needs {module.split('.')[0]}: pip install 'metatrace-html[{extra}]'",
            )
    targets = _targets(propagation_targets)
    browser = parse_version(sentry_browser_version)
    if public_key and not environment:
        environment = "production"  # what Sentry's SDKs report when none is set
    configured = Config(
        public_key=public_key,
        org_id=org_id,
        release=release,
        environment=environment,
        traces_sample_rate=None if traces_sample_rate is None else float(traces_sample_rate),
        w3c=w3c,
        tracestate=tracestate,
        trace_metric=trace_metric,
        strict_trace_continuation=strict_trace_continuation,
        strip_cacheable=strip_cacheable,
        source=source,
        propagation_targets=targets,
        server_timing=server_timing,
        inject=inject,
        allow_cached_tag=allow_cached_tag,
        sentry_browser=browser,
    )
    return configured


class Dsn(NamedTuple):
    public_key: str
    org_id: str | None  # from a host like o123.ingest.sentry.io, else None


def parse_dsn(dsn: str) -> Dsn:
    """The public key and org id of a Sentry DSN; SettingError ("dsn") if it is not one."""
    match = _DSN_RE.fullmatch(dsn.strip())
    if match is None:
        raise SettingError(
            "dsn", f"{dsn!r} is not a Sentry DSN; expected https://PUBLIC_KEY@HOST/PROJECT_ID"
        )
    public_key, host, _project = match.groups()
    org = _ORG_HOST_RE.match(host)
    return Dsn(public_key, None if org is None else org.group(1))


def parse_version(version: str | None) -> tuple[int, int] | None:
    """(major, minor) of a @sentry/browser version such as "11.17.0"; SettingError
    ("sentry_browser_version") if it is not one."""
    if version is None:
        return None
    match = _VERSION_RE.fullmatch(version.strip()) if isinstance(version, str) else None
    if match is None:
        raise SettingError(
            "sentry_browser_version",
            f"{version!r} is not a version of @sentry/browser, such as '11.17.0' (see your "
            "package.json), or None",
        )
    return int(match.group(1)), int(match.group(2))


def _env_default(value: str | _Unset | None, variable: str, name: str) -> str | None:
    if value is UNSET:
        return os.environ.get(variable) or None
    if value is not None and not isinstance(value, str):
        raise SettingError(name, f"must be a string or None, not {type(value).__name__}")
    if value and not _is_utf8(value):
        raise SettingError(name, f"{value!r} is not valid text (it cannot be encoded as UTF-8)")
    return value or None


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _targets(patterns: Sequence[str] | None) -> tuple[str, ...] | None:
    """URL patterns (regular expressions, searched) that outgoing requests must match."""
    if patterns is None:
        return None
    if isinstance(patterns, str) or not isinstance(patterns, (list, tuple)):
        raise SettingError(
            "propagation_targets",
            f"must be a list of regular expressions, or None, not {patterns!r}",
        )
    for pattern in patterns:
        if not isinstance(pattern, str):
            raise SettingError(
                "propagation_targets", f"must hold strings (regular expressions), not {pattern!r}"
            )
        try:
            re.compile(pattern)
        except re.error as error:
            raise SettingError(
                "propagation_targets", f"{pattern!r} is not a regular expression: {error}"
            ) from None
    return tuple(patterns)
