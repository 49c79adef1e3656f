"""`python -m metatrace check URL`: check the trace handshake of a deployed page."""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence
from urllib.parse import urlsplit

from .checker import FAILED, OK, UNREACHABLE, USAGE, FetchError, check, printable, render
from .config import SettingError, parse_dsn, parse_version

EPILOG = f"""exit status: {OK} every check passed (warnings allowed), {FAILED} a check failed,
{USAGE} a bad command line, {UNREACHABLE} the URL could not be fetched"""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m metatrace", epilog=EPILOG)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    checker = commands.add_parser(
        "check",
        help="check the trace handshake of a page",
        description="Fetch URL twice, with a trace of the checker's own and without, and "
        "report whether the page hands the browser a valid trace, continues an incoming one "
        "and escapes caches.",
        epilog=EPILOG,
    )
    checker.add_argument("url", metavar="URL", help="an http:// or https:// page")
    checker.add_argument(
        "--dsn", help="the site's Sentry DSN: the page's public key and org must match it"
    )
    checker.add_argument(
        "--sentry-browser-version",
        metavar="V",
        help="the @sentry/browser release the pages load (the site's SENTRY_BROWSER_VERSION): "
        "from 11.17 on, a sentry-trace without baggage is continued with the browser's own DSC",
    )
    checker.add_argument(
        "--timeout", type=float, default=10.0, metavar="S", help="seconds per fetch (10)"
    )
    arguments = parser.parse_args(argv)
    problem = _url_problem(arguments.url)
    if problem:
        checker.error(f"URL {arguments.url!r} {problem}")
    if not (math.isfinite(arguments.timeout) and arguments.timeout > 0):
        checker.error("--timeout must be a positive number of seconds")
    if arguments.dsn:
        try:
            parse_dsn(arguments.dsn)
        except SettingError as error:
            checker.error(f"--dsn {error.problem}")
    if arguments.sentry_browser_version:
        try:
            parse_version(arguments.sentry_browser_version)
        except SettingError as error:
            checker.error(f"--sentry-browser-version {error.problem}")
    try:
        report = check(
            arguments.url,
            dsn=arguments.dsn,
            timeout=arguments.timeout,
            sentry_browser_version=arguments.sentry_browser_version,
        )
    except FetchError as error:
        message = f"cannot fetch {arguments.url}: {error}"
        print(f"metatrace check: {printable(message)}", file=sys.stderr)
        return UNREACHABLE
    print(render(report))
    return report.exit_status


def _url_problem(url: str) -> str | None:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (it raises ValueError for a port out of range)
    except ValueError as error:
        return f"is not a URL: {error}"
    if parts.scheme not in ("http", "https"):
        return "must start with http:// or https://"
    if not parts.hostname:
        return "names no host"
    return None


if __name__ == "__main__":
    sys.exit(main())
