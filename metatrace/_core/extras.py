"""The optional extras: an integration imported without its framework says which extra brings
it, instead of Python's "No module named 'asgiref'"; a source names the extra of its tracer."""

from __future__ import annotations

import importlib.util

# The top-level packages that each extra installs (those an integration imports, or that a
# source reads).
PACKAGES = {
    "django": ("django", "asgiref", "sqlparse"),
    "jinja": ("jinja2",),
    "celery": ("celery", "kombu", "billiard"),
    "requests": ("requests", "urllib3"),
    "sentry": ("sentry_sdk",),
    "otel": ("opentelemetry",),
    "datadog": ("ddtrace",),
    "elastic": ("elasticapm",),
}
# Each tracer that the SOURCE setting may name: the module it reads, and the extra that brings it.
SOURCE_MODULES = {
    "sentry_sdk": ("sentry_sdk", "sentry"),
    "opentelemetry": ("opentelemetry.trace", "otel"),
    "ddtrace": ("ddtrace", "datadog"),
    "elasticapm": ("elasticapm", "elastic"),
}


def importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ImportError:  # a parent package is missing
        return False


def missing(error: ModuleNotFoundError, integration: str, extra: str) -> ImportError:
    """What to raise when importing `integration` failed with `error`: an error that names the
    extra to install, when what is missing is one of its packages; else `error` itself."""
    if error.name is None or error.name.partition(".")[0] not in PACKAGES[extra]:
        return error
    named = ImportError(
        f"{integration} needs the {extra} extra ({error.name} is not installed): "
        f"pip install 'metatrace-html[{extra}]'",
        name=error.name,
    )
    named.__cause__ = error
    return named
