"""The command line: `python -m metatrace check URL [URL ...]`."""

from __future__ import annotations

import argparse
import math
import ssl
import sys
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit

from .._core.config import SettingError, parse_dsn, parse_version
from .._core.names import PROPAGATED
from .fetch import Options, shown
from .findings import check
from .report import (
    FAILED,
    OK,
    UNREACHABLE,
    USAGE,
    exit_status,
    printable,
    render_json,
    render_run,
)

EPILOG = f"""exit status: the worst of the pages': {OK} every check passed (warnings allowed),
{FAILED} a check failed, {UNREACHABLE} a page could not be fetched; {USAGE} a bad command line"""


def parser() -> argparse.ArgumentParser:
    """`python -m metatrace`'s arguments (its only command: check)."""
    return _parsers()[0]


def _parsers() -> tuple[argparse.ArgumentParser, argparse.ArgumentParser]:
    """The command's parser, and its `check` subcommand's (which reports usage errors)."""
    parser = argparse.ArgumentParser(prog="python -m metatrace", epilog=EPILOG)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    checker = commands.add_parser(
        "check",
        help="check the trace handshake of pages",
        description="Fetch each URL twice, with a trace of the checker's own and without, and "
        "report whether the page hands the browser a valid trace, continues an incoming one "
        "and escapes caches.",
        epilog=EPILOG,
    )
    checker.add_argument("urls", nargs="*", metavar="URL", help="an http:// or https:// page")
    checker.add_argument(
        "--urls-from",
        metavar="FILE",
        help="more URLs, one a line (blank lines and # comments skipped; - for standard input)",
    )
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
        "-H",
        "--header",
        action="append",
        default=[],
        metavar="'NAME: VALUE'",
        help="send this header too (repeatable): Authorization, say; its value is never shown",
    )
    checker.add_argument(
        "--cookie",
        action="append",
        default=[],
        metavar="'NAME=VALUE[; ...]'",
        help="send these cookies (repeatable): a session, for a page behind a login; never shown",
    )
    checker.add_argument(
        "--accept",
        metavar="TYPE",
        help="the Accept header, for another representation than a browser's page "
        "(application/json for a DRF endpoint, say)",
    )
    checker.add_argument(
        "--cafile",
        metavar="PATH",
        help="trust the certificates this PEM file holds (a private CA, a self-signed server)",
    )
    checker.add_argument(
        "--insecure",
        action="store_true",
        help="check no certificate at all (the report says so)",
    )
    checker.add_argument(
        "--timeout",
        type=float,
        default=10.0,
        metavar="S",
        help="the most seconds a page may take to arrive, its body included (10)",
    )
    checker.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="text for people (the default), json for programs (see docs/checker.md)",
    )
    return parser, checker


def main(argv: Sequence[str] | None = None) -> int:
    command, checker = _parsers()
    arguments = command.parse_args(argv)
    urls = _urls(checker, arguments.urls, arguments.urls_from)
    options = _options(checker, arguments)
    _settings(checker, arguments)
    reports = [
        check(
            url,
            dsn=arguments.dsn,
            sentry_browser_version=arguments.sentry_browser_version,
            options=options,
        )
        for url in urls
    ]
    for report in reports:
        if report.error is not None:
            said = f"cannot fetch {report.hide(report.error)}"
            print(f"metatrace check: {printable(said)}", file=sys.stderr)
    print(render_json(reports) if arguments.format == "json" else render_run(reports))
    return exit_status(reports)


def _urls(checker: argparse.ArgumentParser, given: list[str], listed: str | None) -> list[str]:
    urls = list(given)
    if listed is not None:
        try:
            text = sys.stdin.read() if listed == "-" else Path(listed).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            checker.error(f"--urls-from {listed}: {error}")
        lines = (line.strip() for line in text.splitlines())
        urls += [line for line in lines if line and not line.startswith("#")]
    if not urls:
        checker.error("give a URL to check (or --urls-from FILE)")
    for url in urls:
        problem = _url_problem(url)
        if problem:
            checker.error(f"URL {shown(url)!r} {problem}")
    return urls


def _options(checker: argparse.ArgumentParser, arguments: argparse.Namespace) -> Options:
    if not (math.isfinite(arguments.timeout) and arguments.timeout > 0):
        checker.error("--timeout must be a positive number of seconds")
    headers = []
    for number, header in enumerate(arguments.header, 1):
        name, colon, value = header.partition(":")
        name = name.strip()
        if not colon:  # it may be all value (a token without its name): never repeat it
            checker.error(f"--header takes 'NAME: VALUE'; header {number} has no ':'")
        if name.lower() in PROPAGATED:
            checker.error(f"--header {name}: the checker sends a trace of its own")
        headers.append((name, value.strip()))
    if arguments.cafile is not None:
        if arguments.insecure:
            checker.error("--cafile and --insecure: trust a CA, or check no certificate, not both")
        try:
            ssl.create_default_context(cafile=arguments.cafile)
        except (OSError, ssl.SSLError) as error:
            checker.error(f"--cafile {arguments.cafile}: not a PEM file of certificates ({error})")
    try:
        return Options(
            headers=tuple(headers),
            cookies=tuple(cookie.strip() for cookie in arguments.cookie if cookie.strip()),
            accept=arguments.accept,
            cafile=arguments.cafile,
            insecure=arguments.insecure,
            timeout=arguments.timeout,
        )
    except ValueError as error:  # a header's name, or a value with a line break
        checker.error(f"--header or --cookie: {error}")


def _settings(checker: argparse.ArgumentParser, arguments: argparse.Namespace) -> None:
    if arguments.dsn:
        try:
            parse_dsn(arguments.dsn)
        except SettingError as error:
            checker.error(f"--dsn {error.problem}")
    if arguments.sentry_browser_version:
        try:
            parse_version(arguments.sentry_browser_version)
        except SettingError:
            checker.error(
                f"--sentry-browser-version {arguments.sentry_browser_version!r} is not a version "
                "of @sentry/browser, such as 11.17.0 (your package.json says which)"
            )


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
