"""Write the mutation-testing summary into docs/testing.md (run by `make mutate`).

It reads mutmut's results (`mutmut results --all true`, in the project directory) and the
module-level results that tools/mutants.py wrote (mutants/module-level.json), sorts the
survivors into accepted equivalents (tools/equivalent.py) and real survivors, and replaces
the part of docs/testing.md between the two `mutation-summary` markers.

    python tools/mutation_report.py docs/testing.md

Exits 1 if fewer than 95% of the non-equivalent mutants of a module were killed.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from equivalent import EQUIVALENT  # a sibling module: tools/ is no package

ROOT = Path(__file__).resolve().parent.parent
START = "<!-- mutation-summary:start -->"
END = "<!-- mutation-summary:end -->"
GOAL = 0.95
MODULE_LEVEL = ROOT / "mutants" / "module-level.json"


def mutmut_results() -> dict[str, str]:
    """mutant name -> status (killed, survived, timeout, not checked, ...)."""
    output = subprocess.run(
        [str(Path(sys.executable).parent / "mutmut"), "results", "--all", "true"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    results = {}
    for line in output.splitlines():
        name, sep, status = line.strip().rpartition(": ")
        if sep and name.startswith("metatrace."):
            results[name] = status
    return results


def _module_of(name: str) -> str:
    """metatrace.caching.x_f__mutmut_3 -> metatrace/caching.py"""
    dotted = name.split(".x_")[0].split(".xǁ")[0]
    return dotted.replace(".", "/") + ".py"


def summary() -> tuple[str, bool]:
    rows: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    timeouts: dict[str, int] = defaultdict(int)  # counted as killed, shown apart
    survivors: list[str] = []
    equivalents: list[tuple[str, str]] = []
    for name, status in sorted(mutmut_results().items()):
        if status == "not checked":
            continue
        module = _module_of(name)
        # A timeout is a detected mutant, as mutmut itself counts it.
        kind = "killed" if status in ("killed", "timeout") else status
        timeouts[module] += status == "timeout"
        if kind == "survived" and name in EQUIVALENT:
            kind = "equivalent"
            equivalents.append((name, EQUIVALENT[name]))
        elif kind != "killed":
            survivors.append(f"{name} ({status})")
        rows[module][kind] += 1
    if MODULE_LEVEL.exists():
        for mutant in json.loads(MODULE_LEVEL.read_text(encoding="utf-8"))["mutants"]:
            module, status = mutant["module"], mutant["status"]
            label = f"{module}: {mutant['description']}"
            rows[module + " (module level)"][status] += 1
            if status == "equivalent":
                equivalents.append((label, mutant["reason"]))
            elif status == "survived":
                survivors.append(label)
    lines = [
        f"Last run: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, by `make mutate`.",
        "",
        "| module | mutants | killed (of which timeouts) | equivalent | survived "
        "| killed of non-equivalent |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    ok = True
    for module, counts in sorted(rows.items()):
        killed, equivalent = counts["killed"], counts["equivalent"]
        others = sum(counts.values()) - killed - equivalent
        rate = killed / (killed + others) if killed + others else 1.0
        ok = ok and rate >= GOAL
        lines.append(
            f"| {module} | {sum(counts.values())} | {killed} ({timeouts[module]}) "
            f"| {equivalent} | {others} "
            f"| {rate:.1%} |"
        )
    lines += ["", "Surviving mutants (`mutmut show NAME` prints one):", ""]
    lines += [f"- {name}" for name in survivors] or ["- none"]
    lines += ["", "Accepted equivalent mutants (listed in tools/equivalent.py):", ""]
    lines += [f"- {name}: {reason}" for name, reason in equivalents] or ["- none"]
    return "\n".join(lines), ok


def main() -> int:
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "testing.md"
    text = target.read_text(encoding="utf-8")
    before, _, rest = text.partition(START)
    _, _, after = rest.partition(END)
    body, ok = summary()
    target.write_text(f"{before}{START}\n{body}\n{END}{after}", encoding="utf-8")
    print(body)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
