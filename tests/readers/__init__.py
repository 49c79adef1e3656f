"""The real readers of what metatrace receives and sends, as tests/test_differential.py runs them.

- sentry-python: `extract_sentrytrace_data` and `Baggage.from_incoming_header`.
- OpenTelemetry Python: `TraceContextTextMapPropagator` and `W3CBaggagePropagator`.
- @sentry/core (the code inside @sentry/browser): the oldest release of its supported major
  (`frontend/oldest`), the sample site's (`frontend`) and the newest (`frontend/newest`):
  `propagationContextFromHeaders` and `baggageHeaderToDynamicSamplingContext`, run by one node
  process per release (`sentry_core_reader.mjs`) fed JSON lines.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from opentelemetry import baggage as otel_baggage
from opentelemetry import trace as otel_trace
from opentelemetry.baggage.propagation import W3CBaggagePropagator
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from sentry_sdk.tracing_utils import Baggage, extract_sentrytrace_data

REPO_ROOT = Path(__file__).resolve().parents[2]
FRONTEND = REPO_ROOT / "frontend"
# Where each release of @sentry/core is installed: the oldest of its supported major, the
# sample site's, and the newest (under `make newest`, npm's latest: tools/newest.py).
RELEASES = {
    "oldest": FRONTEND / "oldest",
    "pinned": FRONTEND,
    "newest": Path(os.environ.get("METATRACE_LATEST_READERS") or FRONTEND / "newest"),
}
SCRIPT = Path(__file__).with_name("sentry_core_reader.mjs")


def release(version: str) -> tuple[int, ...]:
    """A version as numbers, for comparing: "2.61.0" -> (2, 61, 0)."""
    return tuple(int(part) for part in re.findall(r"\d+", version)[:3])


# The releases of the Python readers installed in this session (the version matrix installs
# the oldest and the newest that the extras allow).
SENTRY_PYTHON = release(importlib.metadata.version("sentry-sdk"))
OPENTELEMETRY = release(importlib.metadata.version("opentelemetry-api"))

# A trace as a reader sees it: (trace id, parent span id, sampled); None when it starts its own.
Trace = tuple[str | None, str | None, bool | None] | None


@dataclass(frozen=True)
class Reading:
    """One reader's view of a set of headers."""

    trace: Trace
    dsc: dict[str, str]
    third_party: list[tuple[str, str]]  # (key, value) as the reader reads them, in order
    tracestate: str = ""


def sentry_python(headers: dict[str, str]) -> Reading:
    data = extract_sentrytrace_data(headers.get("sentry-trace"))
    trace: Trace = None
    if data is not None:
        trace = (data["trace_id"], data["parent_span_id"], data["parent_sampled"])  # type: ignore[assignment]
    bag = Baggage.from_incoming_header(headers.get("baggage"))
    third = [
        (item.partition("=")[0], item.partition("=")[2])
        for item in bag.third_party_items.split(",")
        if item
    ]
    return Reading(trace, dict(bag.sentry_items), third)


_TRACE_CONTEXT = TraceContextTextMapPropagator()
_BAGGAGE = W3CBaggagePropagator()


def opentelemetry(headers: dict[str, str]) -> Reading:
    context = _TRACE_CONTEXT.extract(headers)
    span = otel_trace.get_current_span(context).get_span_context()
    trace: Trace = None
    tracestate = ""
    if span.is_valid:
        trace = (f"{span.trace_id:032x}", f"{span.span_id:016x}", span.trace_flags.sampled)
        tracestate = span.trace_state.to_header()
    entries = otel_baggage.get_all(_BAGGAGE.extract(headers))
    dsc = {key[7:]: str(value) for key, value in entries.items() if key.startswith("sentry-")}
    third = [(key, str(value)) for key, value in entries.items() if not key.startswith("sentry-")]
    return Reading(trace, dsc, third, tracestate)


class SentryCore:
    """@sentry/core in one node process, fed one JSON line per question."""

    def __init__(self, node: str, folder: Path = FRONTEND) -> None:
        manifest = folder / "node_modules" / "@sentry" / "core" / "package.json"
        self.version: str = json.loads(manifest.read_text(encoding="utf-8"))["version"]
        self._process = subprocess.Popen(
            [node, str(SCRIPT), str(folder)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            errors="surrogatepass",
        )

    def ask(self, sentry_trace: str | None, baggage: str | None) -> dict[str, Any]:
        return self.ask_many([(sentry_trace, baggage)])[0]

    def ask_many(self, questions: list[tuple[str | None, str | None]]) -> list[dict[str, Any]]:
        """Answers to several (sentry-trace, baggage) questions, in one write and read."""
        process = self._process
        assert process.stdin is not None and process.stdout is not None
        process.stdin.write(
            "".join(
                json.dumps({"sentry_trace": sentry_trace, "baggage": baggage}) + "\n"
                for sentry_trace, baggage in questions
            )
        )
        process.stdin.flush()
        answers = []
        for _ in questions:
            line = process.stdout.readline()
            assert line, f"the @sentry/core reader stopped (exit code {process.poll()})"
            answer: dict[str, Any] = json.loads(line)
            assert "error" not in answer, answer["error"]
            answers.append(answer)
        return answers

    def read(self, headers: dict[str, str]) -> Reading:
        return reading(self.ask(headers.get("sentry-trace"), headers.get("baggage")))

    def close(self) -> None:
        if self._process.stdin is not None:
            self._process.stdin.close()
        self._process.wait(timeout=10)


def reading(answer: dict[str, Any]) -> Reading:
    """@sentry/core's answer as a Reading."""
    context = answer["context"]
    trace: Trace = None
    if answer["continued"]:
        trace = (context["traceId"], context["parentSpanId"], context["sampled"])
    return Reading(trace, answer["dsc"] or {}, [])


def available(folder: Path = FRONTEND) -> str | None:
    """Why @sentry/core cannot run here from `folder`, or None if it can."""
    if shutil.which("node") is None:
        return "node is not on PATH (apt-get install -y nodejs npm)"
    if not (folder / "node_modules" / "@sentry" / "core" / "package.json").is_file():
        return f"{folder.relative_to(REPO_ROOT)}/node_modules has no @sentry/core (make frontend)"
    return None


def decode_key(key: str) -> str:
    """A canonical key as every reader decodes it (canonical keys hold no '+')."""
    return unquote(key, errors="strict")
