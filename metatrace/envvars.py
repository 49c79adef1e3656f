"""The trace for a child process: SENTRY_TRACE and SENTRY_BAGGAGE environment variables."""

from __future__ import annotations


def environ() -> dict[str, str]:
    """`SENTRY_TRACE` and `SENTRY_BAGGAGE` of the active trace, for a child process's env:

        subprocess.run(cmd, env={**os.environ, **metatrace.environ()})

    The child continues with `metatrace.continue_trace(os.environ)`. SENTRY_BAGGAGE is set even
    when empty, so that a value this process inherited cannot reach the child with a new trace.
    """
    # Imported here: the package's __init__ imports this module.
    from . import propagation_headers

    headers = propagation_headers()
    return {"SENTRY_TRACE": headers["sentry-trace"], "SENTRY_BAGGAGE": headers.get("baggage", "")}
