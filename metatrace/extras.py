"""The optional extras: an integration imported without its framework says which extra brings
it, instead of Python's "No module named 'asgiref'"."""

from __future__ import annotations

# The top-level packages that each extra installs (those an integration imports).
PACKAGES = {
    "django": ("django", "asgiref", "sqlparse"),
    "jinja": ("jinja2",),
    "celery": ("celery", "kombu", "billiard"),
    "requests": ("requests", "urllib3"),
}


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
