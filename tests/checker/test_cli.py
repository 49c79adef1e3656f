"""metatrace/checker/cli.py: `python -m metatrace check URL`, run for real."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from metatrace.checker import FAILED, OK, UNREACHABLE, USAGE, Options, fetch
from metatrace.checker.cli import main
from tests.checker.servers import CACHE_OUTSIDE, SITE_DSN, SITE_KEY, _django_server, _with_dsn
from tests.conftest import run_python
from tests.setups.tracers import SENTRY_DSN
from tests.setups.urls import SESSION, TOKEN
from tests.test_setups import DJANGO_WSGI, GUNICORN, Server, serving

pytestmark = [pytest.mark.usefixtures("django_config")]


def _cli(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "metatrace", "check", *arguments],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_command_line_passes_the_sample_site(live_server: Any, settings: Any) -> None:
    _with_dsn(settings)
    result = _cli(live_server.url + "/", "--dsn", SITE_DSN)
    assert result.returncode == OK, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"Checking {live_server.url}/"
    channels = "every channel"  # all four: the meta tags and Server-Timing, each of both names
    assert f"  ok    sampled flag kept (1; {channels})" in lines
    assert f"  ok    public key {SITE_KEY} matches --dsn" in lines
    assert lines[-1] == "Result: the handshake works (exit status 0)"


@pytest.mark.urls("tests.urls")
@pytest.mark.usefixtures("empty_cache")
def test_the_command_line_catches_a_cached_page(settings: Any) -> None:
    settings.METATRACE = {**settings.METATRACE, "STRIP_CACHEABLE": False}
    with _django_server(CACHE_OUTSIDE, settings) as url:
        result = _cli(url + "/t/cache-page/")
    assert result.returncode == FAILED, result.stdout + result.stderr
    assert "  FAIL  replayed: fetch 2 sent no trace" in result.stdout
    assert re.fullmatch(
        r"Result: \d+ checks? failed \(exit status 1\)", result.stdout.splitlines()[-1]
    )


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])  # nothing listens once the socket closes


def test_an_unreachable_url_is_a_clear_error() -> None:
    url = f"http://127.0.0.1:{_closed_port()}/"
    result = _cli(url, "--timeout", "5")
    assert result.returncode == UNREACHABLE
    said = f"cannot fetch {url}: Connection refused (is the server up, at that address?)"
    assert result.stderr == f"metatrace check: {said}\n"
    assert result.stdout.splitlines() == [
        f"Checking {url}",
        "",
        f"  FAIL  {said}",
        "",
        "Result: the page could not be fetched (exit status 3)",
    ]


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["ftp://127.0.0.1/"], "URL 'ftp://127.0.0.1/' must start with http:// or https://"),
        (["http://[::1"], "URL 'http://[::1' is not a URL: Invalid IPv6 URL"),
        (["http:///page/"], "URL 'http:///page/' names no host"),
        (["http://127.0.0.1/", "--dsn", "nope"], "--dsn 'nope' is not a Sentry DSN"),
        (["http://127.0.0.1/", "--timeout", "0"], "--timeout must be a positive number"),
        (["http://127.0.0.1/", "--timeout", "inf"], "--timeout must be a positive number"),
        ([], "give a URL to check (or --urls-from FILE)"),
        (["http://x/", "-H", "a: b", "-H", "no colon"], "--header takes 'NAME: VALUE'; header 2"),
        (
            ["ftp://admin:hunter2@127.0.0.1/"],
            "URL 'ftp://admin:[redacted]@127.0.0.1/' must start with http:// or https://",
        ),
        (
            ["http://x/", "-H", "baggage: k=v"],
            "--header baggage: the checker sends a trace of its own",
        ),
        (
            ["http://x/", "--cafile", "/nonexistent.pem"],
            "--cafile /nonexistent.pem: not a PEM file of certificates",
        ),
        (
            ["http://x/", "--cafile", "README.md", "--insecure"],
            "--cafile and --insecure: trust a CA, or check no certificate, not both",
        ),
        (["http://x/", "--urls-from", "/nonexistent.txt"], "--urls-from /nonexistent.txt: "),
        (["http://x/", "--format", "xml"], "argument --format: invalid choice: 'xml'"),
        (
            ["http://127.0.0.1/", "--sentry-browser-version", "eleven"],
            "--sentry-browser-version 'eleven' is not a version of @sentry/browser, such as "
            "11.17.0 (your package.json says which)",
        ),
    ],
)
def test_a_bad_command_line_says_what_is_wrong(arguments: list[str], message: str) -> None:
    result = _cli(*arguments)
    assert result.returncode == USAGE
    assert f"python -m metatrace check: error: {message}" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "given, message",
    [
        (["-H", "Authorization Bearer sk_live_SECRET"], "header 1 has no ':'"),
        (["-H", "X Token: sk_live_SECRET"], "--header or --cookie: 'X Token' is not a header name"),
        (["-H", "X-Token: sk_live_SECRET\r\nX-Evil: 1"], "the value of header X-Token holds a"),
        (["--cookie", "sid=sk_live_SECRET\nX: 1"], "a cookie holds a line break or control"),
    ],
)
def test_a_mistyped_credential_is_a_usage_error_that_never_repeats_it(
    given: list[str], message: str
) -> None:
    result = _cli("http://127.0.0.1:9/", *given)
    assert result.returncode == USAGE, result.stderr
    assert message in result.stderr
    assert "SECRET" not in result.stderr + result.stdout


def test_the_checker_imports_neither_django_nor_jinja() -> None:
    result = run_python(
        "import sys, metatrace.checker, metatrace.__main__; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('django', 'jinja2')))"
    )
    assert result.stdout.strip() == "[]", result.stderr


# The checker as a pipeline step, each option against a real server (gunicorn) ----------------


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with serving(DJANGO_WSGI, tmp_path_factory.mktemp("served")) as server:
        yield server


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(["check", *argv])
    out, err = capsys.readouterr()
    return status, out, err


def _json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any]]:
    status, out, _ = _run(capsys, *argv, "--format", "json")
    report = json.loads(out)
    _assert_documented_shape(report, status)
    return status, report


VERDICTS = {"pass": OK, "fail": FAILED, "unreachable": UNREACHABLE}


def _assert_documented_shape(report: dict[str, Any], status: int) -> None:
    """Every JSON report the tests make has the layout docs/checker.md documents (schema 1)."""
    assert set(report) == {"schema", "verdict", "exit_status", "pages"}
    assert report["schema"] == 1
    assert VERDICTS[report["verdict"]] == report["exit_status"] == status
    pages = report["pages"]
    assert pages and report["exit_status"] == max(page["exit_status"] for page in pages)
    keys = {"url", "judged", "fetched", "verdict", "exit_status", "error", "insecure", "sections"}
    for page in pages:
        assert set(page) == keys
        assert VERDICTS[page["verdict"]] == page["exit_status"]
        assert isinstance(page["insecure"], bool)
        assert all(isinstance(url, str) for url in page["fetched"])
        assert (page["error"] is None) is (page["verdict"] != "unreachable")
        for section in page["sections"]:
            assert set(section) == {"title", "findings"} and isinstance(section["title"], str)
            for finding in section["findings"]:
                assert set(finding) == {"level", "text"}
                assert finding["level"] in ("ok", "info", "warn", "fail")
        failed = any(f["level"] == "fail" for s in page["sections"] for f in s["findings"])
        assert failed is (page["verdict"] == "fail")


def test_a_page_behind_a_login_is_never_a_silent_pass(
    served: Server, capsys: pytest.CaptureFixture[str]
) -> None:
    url = served.url + "/s/private/"
    status, report = _json(capsys, url, "--dsn", SENTRY_DSN)
    [page] = report["pages"]
    assert (status, report["verdict"], page["verdict"]) == (FAILED, "fail", "fail")
    judged = served.url + "/s/login/?next=/s/private/"
    assert page["judged"] == judged
    assert page["fetched"] == [url, judged, url, judged]  # fetch 1, fetch 2
    fails = [f["text"] for s in page["sections"] for f in s["findings"] if f["level"] == "fail"]
    assert fails == [
        f"judged {judged}, not {url}: the page asked for sends the visitor to another page (a "
        "login page?). To check the page itself, send what lets a visitor see it (--cookie "
        "'sessionid=...', --header 'Authorization: ...'), or check the page it redirects to by "
        "its own URL"
    ]


@pytest.mark.parametrize(
    "given", [["--cookie", f"session={SESSION}"], ["-H", f"Authorization: {TOKEN}"]]
)
def test_a_cookie_or_a_header_checks_the_page_itself_and_is_never_shown(
    served: Server, capsys: pytest.CaptureFixture[str], given: list[str]
) -> None:
    for path in ["/s/private/", "/s/echo/"]:  # the second shows what it was sent
        url = served.url + path
        status, out, err = _run(capsys, url, *given, "--dsn", SENTRY_DSN)
        assert status == OK, out
        assert f"Checking {url}" in out and "redirected" not in out
        json_status, report = _json(capsys, url, *given)
        assert json_status == OK and report["pages"][0]["judged"] == url
        for text in (out, err, json.dumps(report)):
            assert SESSION not in text and TOKEN not in text and "letmein" not in text
        if path == "/s/echo/":  # the page echoes it in a header the report shows: redacted
            [via] = [line for line in out.splitlines() if "Via: 1.1 proxy (" in line]
            assert "[redacted]" in via


def test_credentials_do_not_follow_a_redirect_to_another_host(
    served: Server, capsys: pytest.CaptureFixture[str]
) -> None:
    url = served.url + "/s/elsewhere/"
    status, out, _ = _run(capsys, url, "-H", f"Authorization: {TOKEN}", "--cookie", "session=x1y2")
    assert status == FAILED  # another page than the one asked for
    other = served.url.replace("127.0.0.1", "localhost")
    assert f"judged {other}/s/echo/, not {url}" in out
    said = f"not sent to {other}, where a redirect led: Authorization, Cookie (they were given "
    assert f"{said}for {served.url})" in out
    page = fetch(url, {}, options=Options(headers=(("Authorization", TOKEN),)))
    assert page.header("via") == ["1.1 proxy (None None)"] and page.dropped == ("Authorization",)


def test_a_redirect_to_a_server_that_refuses_names_that_server(
    served: Server, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = _run(capsys, served.url + "/s/gone/")
    assert status == UNREACHABLE
    said = (
        "cannot fetch http://127.0.0.1:9/moved/: Connection refused "
        "(is the server up, at that address?)"
    )
    assert err.strip() == f"metatrace check: {said}"
    assert f"FAIL  {said}" in out


def test_accept_asks_for_another_representation(
    served: Server, capsys: pytest.CaptureFixture[str]
) -> None:
    url = served.url + "/s/api/"
    status, out, _ = _run(capsys, url, "--dsn", SENTRY_DSN)
    assert status == OK and "continued: same trace id" in out  # the browsable page, as before
    status, out, _ = _run(capsys, url, "--accept", "application/json")
    assert status == OK, out
    assert "WARN  not an HTML page (application/json), as --accept asked" in out
    assert "asked for application/json (--accept)" in out


def test_several_urls_in_one_run_exit_with_the_worst(
    served: Server, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    listed = tmp_path / "pages.txt"
    listed.write_text(
        f"# the pages of the deploy\n{served.url}/t/tag/\n\n{served.url}/s/private/\n"
    )
    status, report = _json(capsys, served.url + "/t/function/", "--urls-from", str(listed))
    assert (status, report["verdict"]) == (FAILED, "fail")
    assert [(p["url"], p["verdict"]) for p in report["pages"]] == [
        (served.url + "/t/function/", "pass"),
        (served.url + "/t/tag/", "pass"),
        (served.url + "/s/private/", "fail"),
    ]
    status, out, _ = _run(capsys, served.url + "/t/tag/", "http://127.0.0.1:9/")
    assert status == UNREACHABLE
    assert out.strip().endswith("2 pages: 1 pass, 1 unreachable (exit status 3)")
    status, out, _ = _run(capsys, served.url + "/t/tag/", served.url + "/t/function/")
    assert status == OK and out.strip().endswith("2 pages: 2 pass (exit status 0)")


def test_the_json_report_has_the_documented_shape(
    served: Server, capsys: pytest.CaptureFixture[str]
) -> None:
    _, report = _json(capsys, served.url + "/t/tag/", "http://127.0.0.1:9/")
    assert set(report) == {"schema", "verdict", "exit_status", "pages"}
    assert (report["schema"], report["verdict"], report["exit_status"]) == (1, "unreachable", 3)
    good, gone = report["pages"]
    keys = {"url", "judged", "fetched", "verdict", "exit_status", "error", "insecure", "sections"}
    assert set(good) == set(gone) == keys
    assert (good["verdict"], good["exit_status"], good["error"], good["insecure"]) == (
        "pass",
        0,
        None,
        False,
    )
    for section in good["sections"]:
        assert set(section) == {"title", "findings"}
        for finding in section["findings"]:
            assert set(finding) == {"level", "text"}
            assert finding["level"] in ("ok", "info", "warn", "fail")
    assert (gone["verdict"], gone["judged"], gone["fetched"], gone["sections"]) == (
        "unreachable",
        None,
        [],
        [],
    )
    assert gone["error"].startswith("http://127.0.0.1:9/: Connection refused")


# Certificates: a private CA's, and a self-signed one, made here -------------------------------


def _openssl(*arguments: str | Path, cwd: Path) -> None:
    subprocess.run(["openssl", *map(str, arguments)], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """ca.pem and the server's server.pem/server.key that it signed (for 127.0.0.1), and a
    self-signed self.pem/self.key."""
    folder = tmp_path_factory.mktemp("certificates")
    (folder / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    key = ["-newkey", "rsa:2048", "-nodes"]
    _openssl("req", "-x509", *key, "-days", "2", "-subj", "/CN=metatrace test CA",
             "-keyout", "ca.key", "-out", "ca.pem", cwd=folder)  # fmt: skip
    _openssl("req", *key, "-subj", "/CN=127.0.0.1",
             "-keyout", "server.key", "-out", "server.csr", cwd=folder)  # fmt: skip
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
             "-CAcreateserial", "-days", "2", "-extfile", "san.ext", "-out", "server.pem",
             cwd=folder)  # fmt: skip
    _openssl("req", "-x509", *key, "-days", "2", "-subj", "/CN=127.0.0.1",
             "-addext", "subjectAltName=IP:127.0.0.1",
             "-keyout", "self.key", "-out", "self.pem", cwd=folder)  # fmt: skip
    return folder


@pytest.mark.parametrize("signed", ["server", "self"])
def test_a_private_certificate_is_trusted_with_cafile_or_skipped_with_insecure(
    certificates: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], signed: str
) -> None:
    tls = [
        "--certfile",
        str(certificates / f"{signed}.pem"),
        "--keyfile",
        str(certificates / f"{signed}.key"),
    ]
    command = [*GUNICORN, *tls, "tests.setups.wsgi:application"]
    trusted = certificates / ("ca.pem" if signed == "server" else "self.pem")
    with serving(command, tmp_path) as server:
        url = server.url.replace("http://", "https://") + "/t/tag/"
        status, out, err = _run(capsys, url)
        assert status == UNREACHABLE
        assert err.strip().startswith(
            f"metatrace check: cannot fetch {url}: its certificate is not trusted: "
        )
        assert err.strip().endswith(
            "(give the CA that signed it with --cafile PATH, or skip the check: --insecure)"
        )
        status, out, _ = _run(capsys, url, "--cafile", str(trusted), "--dsn", SENTRY_DSN)
        assert status == OK, out  # a CA without a key usage extension, as Python 3.13 checks
        assert "--insecure" not in out
        another_host = url.replace("127.0.0.1", "localhost")  # the certificate names 127.0.0.1
        status, out, err = _run(capsys, another_host, "--cafile", str(trusted))
        assert status == UNREACHABLE
        assert err.strip() == (
            f"metatrace check: cannot fetch {another_host}: its certificate is not trusted: "
            "Hostname mismatch, certificate is not valid for 'localhost'. (renew or fix the "
            "certificate, or skip the check: --insecure)"
        )
        status, report = _json(capsys, url, "--insecure", "--dsn", SENTRY_DSN)
        assert status == OK and report["pages"][0]["insecure"] is True
        warned = [
            f["text"]
            for s in report["pages"][0]["sections"]
            for f in s["findings"]
            if f["level"] == "warn"
        ]
        assert warned == [
            "certificates not checked (--insecure): this report cannot vouch that the server is "
            "the one named"
        ]
        other = certificates / ("self.pem" if signed == "server" else "ca.pem")
        status, _, err = _run(capsys, url, "--cafile", str(other))
        assert (
            status == UNREACHABLE
            and f"(--cafile {other} does not hold the CA that signed it)" in err
        )
