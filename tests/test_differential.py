"""metatrace next to the real readers, in the same run (docs/maintainers/readers.md).

Output side, the round trip: for any incoming headers, what sentry-python, OpenTelemetry and
@sentry/core read from metatrace's OUTPUT (its meta tags and its outgoing headers) is what
metatrace itself means: the trace id, the parent span, the sampled flag, the DSC items, the
third-party members and the tracestate.

Input side: where metatrace reads incoming headers differently from a reader, the difference
must be one that docs/maintainers/readers.md documents, in its table of differences. The table
is parsed here; a difference no row of it explains fails, and so does a row that no case shows.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, unquote_plus

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import metatrace
from metatrace._core import formats
from metatrace._core.carriers import read_carrier
from metatrace._core.config import parse_version
from metatrace._core.context import TraceContext
from tests import readers
from tests.conftest import parse_trace_meta

DOCS = Path(__file__).resolve().parents[1] / "docs" / "maintainers" / "readers.md"

T = "771a43a4192642f0b136d5159a501700"
T2 = "0af7651916cd43dd8448eb211c80319c"
S = "b7ad6b7169203331"
S2 = "00f067aa0ba902b7"
KEY = "49d0f7386ad645858ae85020e393bef3"

# The server's settings a case runs under.
CONFIGS: list[dict[str, Any]] = [
    {"w3c": True},
    {"w3c": True, "traces_sample_rate": 0.5},
    {"w3c": True, "public_key": KEY, "traces_sample_rate": 1.0},
    {
        "w3c": True,
        "public_key": KEY,
        "org_id": "447",
        "traces_sample_rate": 0.25,
        "release": " shop@1.4 ",
    },
    {"w3c": True, "public_key": KEY, "org_id": "447", "strict_trace_continuation": True},
    # No key, and pages that load a @sentry/browser that fills in its own DSC: a case runs
    # under it only with a reader of that release or later (a site that says so runs one).
    {"w3c": True, "sentry_browser_version": "11.17.0"},
]


# ------------------------------------------------------------------------------------------------
# The node process: one per test session
# ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="session", params=list(readers.RELEASES))
def sentry_core(request: pytest.FixtureRequest) -> Iterator[readers.SentryCore]:
    """The oldest @sentry/core of its supported major, the sample site's, and the newest: a
    change in the reader fails here."""
    folder = readers.RELEASES[request.param]
    problem = readers.available(folder)
    if problem is not None:
        message = f"@sentry/core cannot run: {problem}"
        if os.environ.get("CI"):
            pytest.fail(f"CI is set, so the differential tests must run: {message}")
        pytest.skip(message)
    core = readers.SentryCore(shutil.which("node") or "node", folder)
    yield core
    core.close()


# ------------------------------------------------------------------------------------------------
# The documented differences: docs/maintainers/readers.md's table, and what shows each row applies
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    id: str
    headers: frozenset[str]
    readers: dict[str, tuple[int, ...] | None]  # reader -> the release it is fixed in, if any

    def concerns(self, reader: str, installed: tuple[int, ...]) -> bool:
        """Whether the row is about `reader` in the release installed in this session."""
        if reader not in self.readers:
            return False
        fixed = self.readers[reader]
        return fixed is None or installed < fixed


# "OpenTelemetry before 1.45": a difference of the releases before that one only.
_READER_CELL = re.compile(r"(?P<name>.+?)(?: before (?P<fixed>\d+(?:\.\d+)*))?")


def documented() -> dict[str, Row]:
    """The rows of the table under '## Documented differences' in docs/maintainers/readers.md."""
    text = DOCS.read_text(encoding="utf-8")
    table = text.split("## Documented differences", 1)[1]
    rows = {}
    for line in table.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) < 4 or not cells[0].startswith("`"):
            continue
        ident = cells[0].strip("`")
        headers = frozenset(cell.strip(" `") for cell in cells[1].split(","))
        names: dict[str, tuple[int, ...] | None] = {}
        for cell in cells[2].split(","):
            match = _READER_CELL.fullmatch(cell.strip(" `"))
            assert match is not None, cell
            fixed = match["fixed"]
            names[match["name"]] = None if fixed is None else readers.release(fixed)
        rows[ident] = Row(ident, headers, names)
    return rows


def installed(reader: str) -> tuple[int, ...]:
    """The release of `reader` this session reads with."""
    return {"sentry-python": readers.SENTRY_PYTHON, "OpenTelemetry": readers.OPENTELEMETRY}.get(
        reader, (999,)
    )


Case = dict[str, str]
Predicate = Callable[[Case, dict[str, Any]], bool]
_TOKEN = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_OCTETS = r"[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]*"
_PROPERTY = rf"(?:{_TOKEN}[ \t]*(?:=[ \t]*{_OCTETS}[ \t]*)?)?"
_W3C_MEMBER = re.compile(rf"[ \t]*{_TOKEN}[ \t]*=[ \t]*{_OCTETS}[ \t]*(?:;[ \t]*{_PROPERTY})*")
_OTHER_SPACE = re.compile(r"[^\S \t]|[\ufeff\xa0]")
_LENIENT_SENTRY_TRACE = re.compile(r"[ \t]*([0-9a-f]{32})?-?([0-9a-f]{16})?-?([01])?[ \t]*")


def _members(case: Case) -> list[str]:
    return case.get("baggage", "").split(",")


def _pairs(case: Case) -> list[tuple[str, str]]:
    """(key, value) of every member with '=', stripped of spaces and tabs, value with props."""
    pairs = []
    for member in _members(case):
        key, equals, value = member.partition("=")
        if equals:
            pairs.append((key.strip(" \t"), value.strip(" \t")))
    return pairs


def _loose(text: str) -> str:
    return unquote(text, errors="replace")


def _sentry_pairs(case: Case) -> list[tuple[str, str]]:
    return [(k, v) for k, v in _pairs(case) if _loose(k).strip().startswith("sentry-")]


def _has_bad_escape(text: str) -> bool:
    if re.search(r"%(?![0-9A-Fa-f]{2})", text):
        return True
    try:
        unquote(text, errors="strict")
    except UnicodeDecodeError:
        return True
    return False


def _first_sentry_trace(case: Case) -> str:
    value = case.get("sentry-trace", "")
    return next((part for part in value.split(",") if part.strip()), "") if "," in value else value


def _org_refused(case: Case, config: dict[str, Any]) -> bool:
    baggage = formats.parse_baggage(case.get("baggage", ""))
    theirs = baggage.sentry.get("org_id")
    ours = config.get("org_id")
    if ours and theirs:
        return ours != theirs
    return bool(config.get("strict_trace_continuation") and (ours or theirs))


PREDICATES: dict[str, Predicate] = {
    # sentry-trace
    "trace-header-limit": lambda c, _: any(len(v) > 8192 for v in c.values()),
    "zero-ids": lambda c, _: "0" * 16 in c.get("sentry-trace", ""),
    "partial-sentry-trace": lambda c, _: bool(
        _LENIENT_SENTRY_TRACE.fullmatch(_first_sentry_trace(c).strip())
    ),
    "traceparent-shaped-sentry-trace": lambda c, _: (
        _first_sentry_trace(c).strip().startswith("00-")
    ),
    "repeated-sentry-trace": lambda c, _: "," in c.get("sentry-trace", ""),
    "other-whitespace": lambda c, _: any(_OTHER_SPACE.search(value) for value in c.values()),
    # traceparent, tracestate
    "traceparent-512": lambda c, _: len(c.get("traceparent", "")) > 512,
    "traceparent-newline": lambda c, _: c.get("traceparent", "").endswith("\n"),
    "traceparent-tail": lambda c, _: bool(
        re.search(r"[^\x20-\x7e]", c.get("traceparent", "").removesuffix("\n"))
    ),
    "traceparent-fallback": lambda c, _: (
        formats.parse_sentry_trace(c.get("sentry-trace", "")) is not None
    ),
    "org-id": _org_refused,
    "tracestate-512": lambda c, _: (
        len(",".join(m.strip(" \t") for m in c.get("tracestate", "").split(",") if m.strip(" \t")))
        > 512
    ),
    # baggage
    "baggage-limits": lambda c, _: (
        len(c.get("baggage", "").encode("utf-8", "surrogatepass")) > 8192
        or len(_members(c)) > 180
        or any(len(m) > 4096 for m in _members(c))
    ),
    "encoded-prefix": lambda c, _: any(
        not k.startswith("sentry-") and "%" in k for k, _v in _sentry_pairs(c)
    ),
    "plus": lambda c, _: "+" in c.get("baggage", ""),
    "decoded-whitespace": lambda c, _: any(
        _loose(part) != _loose(part).strip() or not _loose(part).strip()
        for k, v in _pairs(c)
        for part in (k, v.split(";")[0])
    ),
    "field-dash": lambda c, _: any("-" in _loose(k).strip()[7:] for k, _v in _sentry_pairs(c)),
    "empty-value": lambda c, _: any(
        not _loose(v.split(";")[0]).strip() for _k, v in _sentry_pairs(c)
    ),
    "bad-escape": lambda c, _: any(
        _has_bad_escape(k) or _has_bad_escape(v.split(";")[0]) for k, v in _pairs(c)
    ),
    "sentry-properties": lambda c, _: any(";" in v for _k, v in _sentry_pairs(c)),
    "malformed-member": lambda c, _: any(
        member.strip(" \t") and not (member.isascii() and _W3C_MEMBER.fullmatch(member))
        for member in _members(c)
    ),
    "empty-property": lambda c, _: bool(re.search(r";[ \t]*(?:;|,|$)", c.get("baggage", ""))),
    "empty-field": lambda c, _: any(_loose(k).strip() == "sentry-" for k, _v in _sentry_pairs(c)),
    "proto": lambda c, _: "__proto__" in _loose(c.get("baggage", "")),
    "second-equals": lambda c, _: any(
        "=" in v for k, v in _pairs(c) if not _loose(k).strip().startswith("sentry-")
    ),
    "otel-edge-whitespace": lambda c, _: (
        (c.get("baggage", "")[:1] in (" ", "\t") or c.get("baggage", "")[-1:] in (" ", "\t"))
        and bool(c.get("baggage", "").strip(" \t"))
    ),
    "normalised-members": lambda c, _: (
        any(
            "%" in k or "+" in k or re.search(r"[ \t]", member.strip(" \t"))
            for member in _members(c)
            for k in [member.partition("=")[0]]
        )
        or len({_loose(k).strip() for k, _v in _pairs(c)}) < len(_pairs(c))
    ),
}

ROWS = documented()
USED: set[str] = set()  # the rows that explained a difference in this session


def explain(reader: str, header: str, case: Case, config: dict[str, Any], what: str) -> None:
    """A difference of `reader` on `header`: some documented row must apply to this case."""
    rows = [
        row.id
        for row in ROWS.values()
        if row.concerns(reader, installed(reader))
        and header in row.headers
        and PREDICATES[row.id](case, config)
    ]
    assert rows, (
        f"{reader} reads this {header} differently and docs/maintainers/readers.md documents no "
        f"reason: {what}\ncase: {case!r}\nconfig: {config!r}"
    )
    USED.update(rows)


# ------------------------------------------------------------------------------------------------
# The checks
# ------------------------------------------------------------------------------------------------


def _js_dsc(dsc: dict[str, str] | None) -> dict[str, Any]:
    """@sentry/core's DSC from propagationContextFromHeaders: sample_rand comes back as
    JavaScript's Number#toString of it, so compare it as a number."""
    dsc = dict(dsc or {})
    if "sample_rand" in dsc:
        dsc["sample_rand"] = float(dsc["sample_rand"])
    return dsc


def check(cases: list[tuple[Case, dict[str, Any]]], core: readers.SentryCore) -> None:
    """Check each (incoming headers, settings) case; node answers them all in one round trip
    (on a busy machine, waiting for node's turn costs far more than the answers)."""
    prepared = []
    questions: list[tuple[str | None, str | None]] = []
    reader = formats_version(core.version)
    for case, config in cases:
        said = config.get("sentry_browser_version")
        if said is not None and formats_version(said) > reader:
            continue  # the site says its pages load a later release than this reader
        _configure(config)
        context = TraceContext(*read_carrier(case))
        headers = context.headers()
        tags = parse_trace_meta(str(context.meta()))
        asked = [(headers["sentry-trace"], headers.get("baggage"))]
        asked.append((case.get("sentry-trace"), case.get("baggage")))
        if "sentry-trace" in tags:
            asked.append((tags["sentry-trace"], tags.get("baggage")))
        prepared.append((case, config, context, headers, tags, len(questions), len(asked)))
        questions += asked
    answers = core.ask_many(questions)
    for case, config, context, headers, tags, start, count in prepared:
        _configure(config)
        mine = answers[start : start + count]
        check_output(context, headers, tags, mine[0], mine[2:], core.version)
        check_input(case, config, context, readers.reading(mine[1]))


def formats_version(version: str) -> tuple[int, int]:
    parsed = parse_version(version)
    assert parsed is not None
    return parsed


def _configure(config: dict[str, Any]) -> None:
    metatrace.configure(**{"dsn": None, "release": None, "environment": None, **config})


def check_output(
    context: TraceContext,
    headers: dict[str, str],
    tags: dict[str, str],
    answer: dict[str, Any],
    browser: list[dict[str, Any]],
    core_version: str,
) -> None:
    trace = (context.trace_id, context.span_id, context.sampled)
    w3c_trace = (context.trace_id, context.span_id, context.sampled is not False)
    dsc = dict(context.dsc)
    third = list(context.third_party_baggage)

    # metatrace's own parsers read back what it meant.
    assert formats.parse_sentry_trace(headers["sentry-trace"]) == trace
    own = formats.parse_baggage(headers.get("baggage", ""))
    assert (own.sentry, list(own.third_party)) == (dsc, third)
    assert formats.parse_traceparent(headers["traceparent"]) == w3c_trace
    assert headers.get("tracestate") == context.tracestate

    # The next service: sentry-python, OpenTelemetry, @sentry/core.
    python = readers.sentry_python(headers)
    assert python.trace == trace
    assert python.dsc == dsc
    expected = [tuple(member.split("=", 1)) for member in third]
    if readers.SENTRY_PYTHON < (2, 62):  # it drops members with a second "=" (docs/maintainers)
        expected = [member for member in expected if "=" not in member[1]]
    assert python.third_party == expected
    otel = readers.opentelemetry(headers)
    assert otel.trace == w3c_trace
    assert otel.tracestate == (context.tracestate or "")
    assert otel.dsc == dsc
    assert otel.third_party == [
        (readers.decode_key(key), unquote_plus(value).strip())  # values are opaque: OTel's own
        for key, value in (member.split("=", 1) for member in third)
    ]
    assert answer["continued"]
    js = answer["context"]
    assert (js["traceId"], js["parentSpanId"], js["sampled"]) == trace
    assert (answer["dsc"] or {}) == dsc
    assert _js_dsc(js["dsc"]) == _js_dsc(dsc)

    # The browser: @sentry/core reads the sentry-trace and baggage tags, OpenTelemetry web the
    # traceparent tag (here OpenTelemetry Python's propagator, which reads it the same way).
    if "sentry-trace" in tags:
        [answer] = browser
        js = answer["context"]
        assert answer["continued"]
        assert (js["traceId"], js["parentSpanId"], js["sampled"]) == trace
        if dsc or "baggage" in tags:
            assert (answer["dsc"] or {}) == dsc
            assert _js_dsc(js["dsc"]) == _js_dsc(dsc)
        else:
            # No DSC (no key of ours, none came in): only for a browser that fills in its
            # own, which leaves it open; 11.12 and earlier would freeze {} (docs/continuation.md).
            assert js["dsc"] is None, f"@sentry/core {core_version} froze {js['dsc']!r}"
    else:
        # No DSC, and a browser that would freeze an empty one: it starts its own trace.
        assert not dsc and "baggage" not in tags
    assert tags["traceparent"] == headers["traceparent"]
    assert readers.opentelemetry({"traceparent": tags["traceparent"]}).trace == w3c_trace


def check_input(
    case: Case, config: dict[str, Any], context: TraceContext, js: readers.Reading
) -> None:
    parsed = formats.parse_sentry_trace(case["sentry-trace"]) if "sentry-trace" in case else None
    trace = None if parsed is None else tuple(parsed)
    bag = formats.parse_baggage(case["baggage"]) if "baggage" in case else formats.EMPTY_BAGGAGE
    third = [tuple(member.split("=", 1)) for member in bag.third_party]

    python = readers.sentry_python(case)
    if python.trace != trace:
        explain("sentry-python", "sentry-trace", case, config, f"{python.trace} != {trace}")
    if python.dsc != bag.sentry:
        explain("sentry-python", "baggage", case, config, f"{python.dsc} != {bag.sentry}")
    if python.third_party != third:
        explain("sentry-python", "baggage", case, config, f"{python.third_party} != {third}")

    if js.trace != trace:
        explain("@sentry/core", "sentry-trace", case, config, f"{js.trace} != {trace}")
    if js.dsc != bag.sentry:
        explain("@sentry/core", "baggage", case, config, f"{js.dsc} != {bag.sentry}")

    otel = readers.opentelemetry(case)
    ours = (
        (context.trace_id, context.parent_span_id, context.sampled) if context.continued else None
    )
    if otel.trace is not None and otel.trace != ours:
        explain("OpenTelemetry", "traceparent", case, config, f"{otel.trace} != {ours}")
    elif otel.trace is None and ours is not None and parsed is None:
        explain("OpenTelemetry", "traceparent", case, config, f"None != {ours}")
    elif otel.trace is not None and otel.tracestate != (context.tracestate or ""):
        explain("OpenTelemetry", "tracestate", case, config, f"{otel.tracestate!r}")
    otel_third = [(readers.decode_key(k), unquote_plus(v).strip()) for k, v in third]
    if otel.dsc != bag.sentry:
        explain("OpenTelemetry", "baggage", case, config, f"{otel.dsc} != {bag.sentry}")
    if otel.third_party != otel_third:
        explain("OpenTelemetry", "baggage", case, config, f"{otel.third_party} != {otel_third}")


# ------------------------------------------------------------------------------------------------
# Generated cases
# ------------------------------------------------------------------------------------------------


def _percent_some(draw: st.DrawFn, text: str) -> str:
    """`text` with some characters percent-encoded, in either letter case of hex."""
    chosen = draw(st.lists(st.booleans(), min_size=len(text), max_size=len(text)))
    upper = draw(st.booleans())
    out = []
    for char, encode in zip(text, chosen, strict=True):
        out.append((f"%{ord(char):02X}" if upper else f"%{ord(char):02x}") if encode else char)
    return "".join(out)


# The fields Sentry's SDKs send, and a few that readers treat differently.
FIELDS = [*sorted(formats.KNOWN_FIELDS), "user-segment", "__proto__", ""]
VALUES = [
    T, T2, "0.5", "0.123456", "1e-7", "abc", "1.5", "-0.1", "NaN", "", "0.5abc", "1", "0",
    "true", "false", "447", "%34%34%37", "7", "a+b", "%20x", "x%20", "%20", "%zz", "100%",
    "%FF", "%C3%A9", "caf%C3%A9", "v;p=1", "v;", "v;;q", "a%2Cb", "%3Cscript%3E", "x y",
    "shop%401.4",
]  # fmt: skip


@st.composite
def baggage_member(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["sentry", "sentry", "sentry", "third", "odd"]))
    if kind == "sentry":
        key = "sentry-" + draw(st.sampled_from(FIELDS))
        if draw(st.integers(0, 3)) == 0:
            key = _percent_some(draw, key)
    elif kind == "third":
        key = draw(st.sampled_from(["k", "vendor", "a+b", "a%2Bb", "Sentry-x", "sentry", "k%20"]))
    else:
        return draw(
            st.sampled_from(["novalue", "bad key=v", "", " ", "k=é", 'k="q"', "=v", "k==v"])
        )
    value = draw(st.one_of(st.sampled_from(VALUES), st.text(max_size=8).map(quote)))
    space = draw(st.sampled_from(["", "", " ", "\t"]))
    props = draw(st.sampled_from(["", "", "", ";p", ";p=1", ";", " ; p"]))
    return f"{space}{key}{space}={space}{value}{props}{space}"


@st.composite
def baggage_header(draw: st.DrawFn, trace_id: str) -> str:
    members = draw(st.lists(baggage_member(), max_size=8))
    if draw(st.integers(0, 4)) > 0:  # usually the DSC of the trace, so that it is kept
        members.insert(0, f"sentry-trace_id={trace_id}")
    return ",".join(members)


@st.composite
def incoming(draw: st.DrawFn) -> Case:
    trace_id = draw(st.sampled_from([T, T, T2, "0" * 32, T.upper()]))
    span_id = draw(st.sampled_from([S, S, S2, "0" * 16]))
    case: Case = {}
    if draw(st.integers(0, 5)) > 0:
        case["sentry-trace"] = draw(
            st.one_of(
                st.sampled_from(["", "-1", "-0"]).map(lambda f: f"{trace_id}-{span_id}{f}"),
                st.sampled_from(
                    [
                        f" {T}-{S}-1\t",
                        f"{T}{S}1",
                        f"{T}-{S}1",
                        T,
                        f"-{S}-1",
                        f"00-{T}-{S}-00",
                        f"{T}-{S}-1,{T2}-{S2}-0",
                        f",{T}-{S}-0",
                        f"{T}-{S}-1\n",
                        f"{T}-{S}-2",
                    ]
                ),
                st.text(alphabet="0123456789abcdef- \t,", max_size=60),
            )
        )
    if draw(st.booleans()):
        case["baggage"] = draw(baggage_header(trace_id))
    if draw(st.booleans()):
        version = draw(st.sampled_from(["00", "00", "01", "ff"]))
        flags = draw(st.sampled_from(["01", "00", "02", "03"]))
        tail = draw(st.sampled_from(["", "", "", "-x", "\n", " ", "-\x7f"]))
        tp_trace = draw(st.sampled_from([trace_id, T2]))
        case["traceparent"] = f"{version}-{tp_trace}-{span_id}-{flags}{tail}"
        if draw(st.booleans()):
            keys = draw(st.lists(st.sampled_from(["a", "b", "k@v", "x1", "K", "_a"]), max_size=4))
            case["tracestate"] = draw(st.sampled_from([",", " , "])).join(
                f"{key}={draw(st.sampled_from(['1', 'v w', 'x=y', '']))}" for key in keys
            )
    return case


# About 2,000 cases per run: batches of 10 to 30 cases in 150 examples. Each batch
# is one round trip to node; hypothesis still shrinks a failing batch to its failing case.
EXAMPLES = int(os.environ.get("DIFFERENTIAL_EXAMPLES", "150"))
GENERATED = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@GENERATED
@given(st.lists(st.tuples(incoming(), st.sampled_from(CONFIGS)), min_size=10, max_size=30))
def test_generated_headers(
    sentry_core: readers.SentryCore, cases: list[tuple[Case, dict[str, Any]]]
) -> None:
    check(cases, sentry_core)


# ------------------------------------------------------------------------------------------------
# Hand-written cases: encodings, case, whitespace, duplicates, properties, limits, empty members,
# repeated headers
# ------------------------------------------------------------------------------------------------

DSC = f"sentry-trace_id={T},sentry-public_key={KEY},sentry-sample_rand=0.5,sentry-sampled=true"
ST = f"{T}-{S}-1"
TP = f"00-{T}-{S}-01"
TRICKY: list[Case] = [
    # Third-party members that W3C allows and sentry-python before 2.62 drops
    {"sentry-trace": ST, "baggage": f"{DSC},k=a=b,j=v;p=1"},
    # Class 1: percent-encoded Sentry keys
    {"sentry-trace": ST, "baggage": f"{DSC},sentry-trace%5Fid={T2}"},
    {"sentry-trace": ST, "baggage": f"{DSC},sentry-org%5Fid=1"},
    {"sentry-trace": ST, "baggage": f"{DSC},sentry-sampl%65d=false,sentry-sample%5Frand=0.99"},
    # Class 2: encoded prefixes
    {"sentry-trace": ST, "baggage": f"{DSC},sentry%2Dtrace_id={T2}"},
    {"sentry-trace": ST, "baggage": f"{DSC},%73entry-sampled=false,sentry%2drelease=evil"},
    {"sentry-trace": ST, "baggage": f"{DSC},%20sentry-release=x,sentry-release%20=y"},
    # Class 3: sample_rand that is not a decimal in [0, 1)
    *(
        {"sentry-trace": ST, "baggage": f"sentry-trace_id={T},sentry-sample_rand={rand}"}
        for rand in ["abc", "1.5", "-0.1", "NaN", "", "0.5abc", "1", "inf", "1_0", "%2B0.5"]
    ),
    # Class 4: an encoded org id
    {"sentry-trace": ST, "baggage": f"sentry-trace_id={T},sentry-org_id=%34%34%37"},
    {"sentry-trace": ST, "baggage": f"sentry-trace_id={T},sentry-org_id=448"},
    # Class 5: tracestate
    {"traceparent": TP, "tracestate": "congo=t61rcWkgMzE, rojo=00f067aa0ba902b7"},
    {"traceparent": TP, "tracestate": ",".join(f"k{i}=v" for i in range(33))},
    {"traceparent": TP, "tracestate": "a=" + "x" * 250 + ",b=" + "y" * 250 + ",c=" + "z" * 20},
    {"traceparent": TP, "tracestate": "a=1,a=2"},
    {"traceparent": TP, "tracestate": "A=1"},
    {"sentry-trace": f"{T2}-{S2}-1", "traceparent": TP, "tracestate": "a=1"},
    {"sentry-trace": ST, "traceparent": TP, "tracestate": "a=1"},
    # A traceparent that OpenTelemetry reads and we refuse takes its tracestate with it
    # (found by the generated cases).
    {"sentry-trace": f"{T}-{S}-0", "traceparent": f"00-{T}-{S}-00\n", "tracestate": "a=1"},
    {"traceparent": f"01-{T}-{S}-01-" + "x" * 600, "tracestate": "a=1"},
    # Sampling: deferred, no incoming DSC, with and without a key (configs)
    {"sentry-trace": f"{T}-{S}"},
    {"sentry-trace": f"{T}-{S}-0"},
    {},
    # Encodings, case, whitespace
    {"sentry-trace": ST, "baggage": f"{DSC},sentry-release=a+b,sentry-environment=%20prod%20"},
    {"baggage": "sentry-environment=%20"},  # decodes to nothing (found by the generated cases)
    {"sentry-trace": ST, "baggage": f"{DSC},sentry-environment=%09%20,sentry-dist=%0A"},
    {"sentry-trace": ST, "baggage": f"{DSC},sentry-user-segment=vip,sentry-user=%E2%82%AC"},
    {"sentry-trace": ST, "baggage": f"{DSC},sentry-release=%FF,sentry-dist=100%,k%FF=v"},
    {"sentry-trace": ST, "baggage": f"{DSC},Sentry-release=x,SENTRY-release=y,sentry-=z"},
    {"sentry-trace": ST.upper(), "baggage": DSC},
    {"traceparent": TP.upper()},
    {"sentry-trace": f" {ST} ", "baggage": f" {DSC.replace(',', ' , ')} "},
    {"sentry-trace": f"\u00a0{ST}", "baggage": f"\ufeff{DSC}"},
    {"sentry-trace": f"{ST}\n"},
    {"traceparent": f"{TP}\n"},
    {"traceparent": f"01-{T}-{S}-01-\x7f"},
    {"traceparent": f"01-{T}-{S}-01-" + "x" * 600},
    {"sentry-trace": f"00-{T}-{S}-00"},
    {"sentry-trace": f"{T}{S}1"},
    {"sentry-trace": f"{'0' * 32}-{S}-1"},
    # Duplicates, properties, empty members
    {"sentry-trace": ST, "baggage": f"{DSC},k=1,k=2,k%3D=3,a+b=4,a%20b=5,a%2Bb=6"},
    {"sentry-trace": ST, "baggage": f"{DSC},sentry-release=1;p,sentry-release=2;q=1;"},
    {"sentry-trace": ST, "baggage": f"{DSC},k=v;;p, ,,sentry-environment=;p, other=;"},
    {"sentry-trace": ST, "baggage": f"{DSC},sentry-__proto__=x,__proto__=y"},
    {"sentry-trace": ST, "baggage": f"{DSC},%5F%5Fproto%5F%5F=y,k=1"},
    # A DSC whose trace id has an escape: every reader decodes it to this trace's
    {"sentry-trace": ST, "baggage": DSC.replace(f"trace_id={T}", f"trace_id=%37{T[1:]}")},
    {"sentry-trace": ST, "baggage": f'{DSC},bad key=v,k="q",novalue,k=é'},
    # Limits
    {"sentry-trace": ST, "baggage": DSC + "," + ",".join(f"k{i}=v" for i in range(200))},
    {"sentry-trace": ST, "baggage": f"{DSC},big={'v' * 4100},k=1"},
    {"sentry-trace": ST, "baggage": f"{DSC},{'x' * 3000}=" + "+" * 1000},
    {"sentry-trace": ST, "baggage": f"{DSC},k=" + "v" * 8200},
    {"sentry-trace": " " * 8200 + ST},
    # Repeated headers (comma-joined, as WSGI hands them over)
    {"sentry-trace": f"{ST},{T2}-{S2}-0", "baggage": f"{DSC},{DSC.replace(T, T2)}"},
    {"traceparent": f"{TP},00-{T2}-{S2}-01"},
]


@pytest.mark.parametrize("case", TRICKY, ids=[repr(case)[:60] for case in TRICKY])
def test_tricky_headers_under_every_config(sentry_core: readers.SentryCore, case: Case) -> None:
    check([(case, config) for config in CONFIGS], sentry_core)


def test_the_table_documents_exactly_the_differences_seen(
    sentry_core: readers.SentryCore,
) -> None:
    """Every row of the table explains a difference that a hand-written case shows, and every
    reason the test knows is a row of the table."""
    USED.clear()
    check([(case, config) for case in TRICKY for config in CONFIGS], sentry_core)
    assert set(PREDICATES) == set(ROWS), "docs/maintainers/readers.md's table and PREDICATES differ"
    # The rows about the releases installed in this session.
    applying = {
        row.id
        for row in ROWS.values()
        if any(row.concerns(reader, installed(reader)) for reader in row.readers)
    }
    assert applying - USED == set(), "rows no hand-written case shows; remove or add a case"


# ------------------------------------------------------------------------------------------------
# One test per class of bug that the readers found (issue 11); each failed before the fix
# ------------------------------------------------------------------------------------------------


def _page(headers: Case) -> dict[str, str]:
    metatrace.continue_trace(headers)
    return parse_trace_meta(str(metatrace.trace_meta()))


@pytest.mark.parametrize(
    "smuggled",
    [
        f"sentry-trace%5Fid={T2}",  # class 1: an encoded Sentry key
        "sentry-sampl%65d=false,sentry-sample%5Frand=0.99",
        f"sentry%2Dtrace_id={T2}",  # class 2: an encoded prefix
        "%73entry-sampled=false,sentry%2drelease=evil",
    ],
)
def test_no_encoded_key_overrides_the_dsc_in_any_reader(
    sentry_core: readers.SentryCore, smuggled: str
) -> None:
    metatrace.configure(w3c=True)
    tags = _page({"sentry-trace": ST, "baggage": f"{DSC},sentry-release=good,{smuggled}"})
    context = metatrace.current_trace()
    meant = dict(context.dsc)
    # Whatever wins, it is the DSC of the trace that goes out (one of another is dropped).
    assert meant.get("trace_id", context.trace_id) == context.trace_id
    # The browser reads the tags (none when the DSC went: no key of ours to make one); the
    # next service reads the headers.
    if "sentry-trace" in tags:
        assert (sentry_core.ask(tags["sentry-trace"], tags.get("baggage"))["dsc"] or {}) == meant
    else:
        assert meant == {} and "baggage" not in tags
    headers = metatrace.propagation_headers()
    answer = sentry_core.ask(headers["sentry-trace"], headers.get("baggage"))
    assert (answer["dsc"] or {}) == meant
    assert readers.opentelemetry(headers).dsc == meant
    assert readers.sentry_python(headers).dsc == meant


@pytest.mark.parametrize("rand", ["abc", "1.5", "-0.1", "NaN", "", "0.5abc", "1", "inf"])
@pytest.mark.parametrize("sampled", [True, False])
def test_an_invalid_sample_rand_is_replaced_by_one_that_agrees(rand: str, sampled: bool) -> None:
    metatrace.configure()
    flag = "true" if sampled else "false"
    context = metatrace.continue_trace(
        {
            "sentry-trace": f"{T}-{S}-{int(sampled)}",
            "baggage": f"sentry-trace_id={T},sentry-sample_rate=0.3,"
            f"sentry-sampled={flag},sentry-sample_rand={rand}",
        }
    )
    replaced = float(context.dsc["sample_rand"])
    assert 0.0 <= replaced < 1.0
    assert (replaced < 0.3) is sampled


def test_an_encoded_org_id_of_our_org_is_continued() -> None:
    metatrace.configure(public_key=KEY, org_id="447")
    context = metatrace.continue_trace(
        {"sentry-trace": ST, "baggage": f"sentry-trace_id={T},sentry-org_id=%34%34%37"}
    )
    assert (context.trace_id, context.parent_span_id) == (T, S)
    assert context.dsc["org_id"] == "447"


@pytest.mark.parametrize("spelled", [f"%{ord(T[0]):02x}{T[1:]}", T.replace("a", "%61")])
def test_a_dsc_whose_trace_id_is_percent_encoded_is_this_traces(spelled: str) -> None:
    # Every reader decodes the value to this trace's id: the DSC is the trace's, kept (found by
    # a differential run against sentry-python 3.0, OpenTelemetry 1.45 and @sentry/core 11.17).
    metatrace.configure(public_key=KEY)
    baggage = f"sentry-trace_id={spelled},sentry-public_key=upstream,sentry-release=r1"
    context = metatrace.continue_trace({"sentry-trace": ST, "baggage": baggage})
    assert context.dsc == {"trace_id": T, "public_key": "upstream", "release": "r1"} | {
        "sample_rand": context.dsc["sample_rand"]
    }
    assert formats.parse_baggage(context.baggage).sentry_encoded["trace_id"] == T  # plainly


def test_a_third_party_member_named_proto_is_not_forwarded() -> None:
    # @sentry/core reads members into a JavaScript object, which cannot hold "__proto__":
    # forwarded, it would mean something to sentry-python and OpenTelemetry and nothing there.
    context = metatrace.continue_trace(
        {"sentry-trace": ST, "baggage": f"{DSC},__proto__=y,%5F%5Fproto%5F%5F=z,k=1"}
    )
    assert context.third_party_baggage == ("k=1",)


def test_tracestate_travels_with_traceparent() -> None:
    metatrace.configure(w3c=True)
    metatrace.continue_trace({"traceparent": TP, "tracestate": "congo=t61rcWkgMzE , rojo=0a"})
    headers = metatrace.propagation_headers()
    assert headers["tracestate"] == "congo=t61rcWkgMzE,rojo=0a"
    assert readers.opentelemetry(headers).tracestate == "congo=t61rcWkgMzE,rojo=0a"


@pytest.mark.parametrize(
    "tracestate",
    [",".join(f"k{i}=v" for i in range(33)), "a=" + "x" * 255 + ",b=" + "y" * 255, "a=1,a=2"],
)
def test_tracestate_over_the_w3c_limits_is_dropped(tracestate: str) -> None:
    metatrace.configure(w3c=True)
    metatrace.continue_trace({"traceparent": TP, "tracestate": tracestate})
    assert "tracestate" not in metatrace.propagation_headers()


def test_tracestate_of_another_trace_is_dropped() -> None:
    metatrace.configure(w3c=True)
    metatrace.continue_trace(
        {"sentry-trace": f"{T2}-{S2}-1", "traceparent": TP, "tracestate": "a=1"}
    )
    assert metatrace.current_trace().trace_id == T2
    assert "tracestate" not in metatrace.propagation_headers()


@pytest.mark.parametrize(
    "rate, flags", [(1.0, {"01"}), (None, {"01"}), (0.0, {"00"}), (0.5, {"00", "01"})]
)
@pytest.mark.parametrize("public_key", [None, KEY])
def test_the_rate_decides_a_started_trace_with_or_without_a_key(
    rate: float | None, flags: set[str], public_key: str | None
) -> None:
    metatrace.configure(w3c=True, traces_sample_rate=rate, public_key=public_key)
    seen = set()
    for _ in range(40):
        tags = _page({})
        flag = tags["traceparent"][-2:]
        seen.add(flag)
        assert (
            metatrace.current_trace().sampled
            is {None: None, "01": True, "00": False}[flag if rate is not None else None]
        )
    assert seen == flags


def test_an_upstream_decision_gets_no_sample_rate_of_ours() -> None:
    metatrace.configure(public_key=KEY, traces_sample_rate=1.0)
    context = metatrace.continue_trace({"sentry-trace": f"{T}-{S}-0"})
    assert context.sampled is False
    assert context.dsc["sampled"] == "false"
    assert "sample_rate" not in context.dsc
    # A decision taken here carries the rate that took it.
    context = metatrace.continue_trace({"sentry-trace": f"{T}-{S}"})
    assert (context.sampled, context.dsc["sample_rate"], context.dsc["sampled"]) == (
        True,
        "1.0",
        "true",
    )


def test_an_otel_span_sends_its_own_tracestate_and_no_rate_of_ours() -> None:
    from opentelemetry import trace
    from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags, TraceState

    metatrace.configure(public_key=KEY, traces_sample_rate=1.0, w3c=True, source="opentelemetry")
    state = TraceState([("congo", "t61rcWkgMzE")])
    remote = SpanContext(0xABC, 0xDEF, True, TraceFlags(1), state)
    with trace.use_span(NonRecordingSpan(remote)):
        headers = metatrace.propagation_headers()
        dsc = dict(metatrace.current_trace().dsc)
    assert headers["tracestate"] == "congo=t61rcWkgMzE"
    assert readers.opentelemetry(headers).tracestate == "congo=t61rcWkgMzE"
    # OpenTelemetry's sampler decided, not our rate.
    assert dsc["sampled"] == "true" and "sample_rate" not in dsc
