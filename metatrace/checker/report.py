"""The checker's report: findings in plain words, by section, a verdict per page and for the
run, and an exit status for scripts; as text for people, and as JSON for programs (its schema:
docs/checker.md)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

# Exit statuses, for scripts. A run of several pages exits with the worst of theirs.
OK = 0  # every check passed (warnings allowed)
FAILED = 1  # at least one check failed
USAGE = 2  # a bad command line (argparse's own status)
UNREACHABLE = 3  # a page could not be fetched at all

Level = Literal["ok", "info", "warn", "fail"]
Verdict = Literal["pass", "fail", "unreachable"]
# The JSON report's version: a change that would break a program reading it gets a new one.
SCHEMA = 1
REDACTED = "[redacted]"


@dataclass(frozen=True)
class Finding:
    level: Level
    text: str


@dataclass(frozen=True)
class Section:
    title: str
    findings: list[Finding] = field(default_factory=list)


@dataclass(frozen=True)
class Report:
    """What the checker found of one URL."""

    url: str  # as asked
    sections: list[Section]
    judged: str | None = None  # the page judged, after redirects; None when none was fetched
    fetched: tuple[str, ...] = ()  # every URL fetched, redirects included, in order
    error: str | None = None  # why nothing could be fetched, and the fix (unreachable)
    insecure: bool = False  # certificates were not checked (--insecure)
    secrets: tuple[str, ...] = field(default=(), repr=False)  # never shown (headers, cookies)

    def findings(self, level: Level | None = None) -> list[Finding]:
        return [f for s in self.sections for f in s.findings if level in (None, f.level)]

    @property
    def exit_status(self) -> int:
        if self.error is not None:
            return UNREACHABLE
        return FAILED if self.findings("fail") else OK

    @property
    def verdict(self) -> Verdict:
        return {OK: "pass", FAILED: "fail"}.get(self.exit_status, "unreachable")  # type: ignore[return-value]

    def hide(self, text: str) -> str:
        """`text` without the secrets the user gave (a redirect's URL may carry one)."""
        return hidden(text, self.secrets)


def hidden(text: str, secrets: Sequence[str]) -> str:
    """`text` with each of `secrets` (longest first) replaced by REDACTED."""
    for secret in secrets:
        text = text.replace(secret, REDACTED)
    return text


def exit_status(reports: Sequence[Report]) -> int:
    """The run's exit status: the worst of its pages' (unreachable, then failed)."""
    return max((report.exit_status for report in reports), default=OK)


MARKS: dict[Level, str] = {"ok": "ok", "info": "-", "warn": "WARN", "fail": "FAIL"}


def render(report: Report) -> str:
    """The report in plain words, one finding a line, and a closing verdict."""
    show = report.hide
    lines = [f"Checking {printable(show(report.url))}"]
    if report.error is not None:
        lines += ["", f"  FAIL  cannot fetch {printable(show(report.error))}"]
    for section in report.sections:
        lines += ["", section.title]
        lines += [f"  {MARKS[f.level]:<4}  {printable(show(f.text))}" for f in section.findings]
    lines += ["", f"Result: {_verdict(report)} (exit status {report.exit_status})"]
    return "\n".join(lines)


def _verdict(report: Report) -> str:
    if report.error is not None:
        return "the page could not be fetched"
    failed, warned = len(report.findings("fail")), len(report.findings("warn"))
    verdict = (
        f"{failed} check{'s' if failed != 1 else ''} failed" if failed else "the handshake works"
    )
    if warned:
        verdict += f", {warned} warning{'s' if warned != 1 else ''}"
    return verdict


def render_run(reports: Sequence[Report]) -> str:
    """Each page's report; for several, a closing line for the run."""
    text = "\n\n".join(render(report) for report in reports)
    if len(reports) > 1:
        counts = {verdict: 0 for verdict in ("pass", "fail", "unreachable")}
        for report in reports:
            counts[report.verdict] += 1
        said = ", ".join(f"{n} {verdict}" for verdict, n in counts.items() if n)
        text += f"\n\n{len(reports)} pages: {said} (exit status {exit_status(reports)})"
    return text


def to_json(reports: Sequence[Report]) -> dict[str, Any]:
    """The run as the JSON report of docs/checker.md."""
    status = exit_status(reports)
    return {
        "schema": SCHEMA,
        "verdict": {OK: "pass", FAILED: "fail"}.get(status, "unreachable"),
        "exit_status": status,
        "pages": [_page(report) for report in reports],
    }


def _page(report: Report) -> dict[str, Any]:
    show = report.hide
    return {
        "url": show(report.url),
        "judged": None if report.judged is None else show(report.judged),
        "fetched": [show(url) for url in report.fetched],
        "verdict": report.verdict,
        "exit_status": report.exit_status,
        "error": None if report.error is None else show(report.error),
        "insecure": report.insecure,
        "sections": [
            {
                "title": show(section.title),
                "findings": [
                    {"level": finding.level, "text": show(finding.text)}
                    for finding in section.findings
                ],
            }
            for section in report.sections
        ],
    }


def render_json(reports: Sequence[Report]) -> str:
    return json.dumps(to_json(reports), indent=2, ensure_ascii=False)


def printable(text: str) -> str:
    """`text` with control and other invisible characters escaped: what a page sends must not
    drive the terminal (escape sequences) or hide in the report."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)
