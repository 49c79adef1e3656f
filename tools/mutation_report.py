"""Write the mutation-testing summary into docs/maintainers/testing.md (run by `make mutate`).

It reads saved result sets: directories that each hold `results.txt` (the output of
`mutmut results --all true`) and `module-level.json` (what tools/mutants.py --json wrote),
as `make mutate` saves them. Several sets, from runs over different modules, make one
summary; for a mutant checked in more than one set, the last set named wins. Survivors are
sorted into accepted equivalents (tools/equivalent.py) and real survivors, and the part of
docs/maintainers/testing.md between the two `mutation-summary` markers is replaced.

    python tools/mutation_report.py --from mutants/saved docs/maintainers/testing.md
    python tools/mutation_report.py --from tools/mutation-results/edges --from mutants/saved

Exits 1 if fewer than 95% of the non-equivalent mutants of a module were killed, or if the
run left mutants of a module unchecked.

Result sets hold mutant names only. A mutant that a later set did not check keeps an earlier
set's result, which is right only if its function is unchanged: run a changed function whole.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from equivalent import EQUIVALENT, KILLED_BY_HAND  # a sibling module: tools/ is no package

ROOT = Path(__file__).resolve().parent.parent
START = "<!-- mutation-summary:start -->"
END = "<!-- mutation-summary:end -->"
GOAL = 0.95


def mutmut_results(text: str) -> dict[str, str]:
    """mutant name -> status (killed, survived, timeout, ..., or "not checked"), from
    `mutmut results --all true`, which lists every mutant of the source the run was made on."""
    results = {}
    for line in text.splitlines():
        name, sep, status = line.strip().rpartition(": ")
        if sep and name.startswith("metatrace."):
            results[name] = status
    return results


def load(sets: list[Path]) -> tuple[dict[str, str], dict[str, dict[str, Any]], list[str]]:
    """The mutmut statuses and the module-level mutants of the saved sets, merged in order,
    and a line on each set."""
    statuses: dict[str, str] = {}
    module_level: dict[str, dict[str, Any]] = {}
    described = []
    for folder in sets:
        results, module_json = folder / "results.txt", folder / "module-level.json"
        if not results.exists() and not module_json.exists():
            sys.exit(f"{folder} holds neither results.txt nor module-level.json")
        checked = mutmut_results(results.read_text(encoding="utf-8")) if results.exists() else {}
        # mutmut numbers the mutants of a function in order: a function this set lists has
        # exactly the mutants it lists, and the others that earlier sets name (made from an
        # older version of that function) no longer exist.
        # And since the list holds every mutant of the modules it names, a mutant of those
        # modules that it does not name is gone: its function changed, or no longer exists.
        functions = {_function_of(name) for name in checked}
        modules = {_module_of(name) for name in checked}
        for name in [name for name in statuses if name not in checked]:
            if _function_of(name) in functions or _module_of(name) in modules:
                del statuses[name]
        # A mutant that a later set did not check keeps what an earlier set found.
        statuses.update(
            (name, status)
            for name, status in checked.items()
            if status != "not checked" or name not in statuses
        )
        saved = json.loads(module_json.read_text(encoding="utf-8")) if module_json.exists() else {}
        if not saved.get("match"):
            # Every module-level mutant of these modules, made from their current source:
            # an earlier set's others were made from constants that are gone.
            covered = set(saved.get("modules", []))
            for key in [key for key, old in module_level.items() if old["module"] in covered]:
                del module_level[key]
        for mutant in saved.get("mutants", []):
            module_level[f"{mutant['module']}: {mutant['description']}"] = mutant
        run = {_module_of(name) for name, status in checked.items() if status != "not checked"}
        modules = sorted(run | set(saved.get("modules", [])))
        finished = saved.get("finished", "date unknown")
        described.append(f"`{_shown(folder)}` ({', '.join(modules)}; {finished})")
    return statuses, module_level, described


def _shown(folder: Path) -> str:
    folder = folder.resolve()
    return str(folder.relative_to(ROOT)) if folder.is_relative_to(ROOT) else str(folder)


def _function_of(name: str) -> str:
    """metatrace.caching.x_f__mutmut_3 -> metatrace.caching.x_f"""
    return name.rpartition("__mutmut_")[0]


def _module_of(name: str) -> str:
    """metatrace.caching.x_f__mutmut_3 -> metatrace/caching.py"""
    dotted = name.split(".x_")[0].split(".xǁ")[0]
    return dotted.replace(".", "/") + ".py"


def summary(sets: list[Path]) -> tuple[str, bool]:
    statuses, module_level, described = load(sets)
    rows: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    timeouts: dict[str, int] = defaultdict(int)  # counted as killed, shown apart
    unchecked: dict[str, int] = defaultdict(int)  # mutants the run did not reach
    survivors: list[str] = []
    equivalents: list[tuple[str, str]] = []
    by_hand: list[tuple[str, str]] = []
    for name, status in sorted(statuses.items()):
        module = _module_of(name)
        if status == "not checked":
            unchecked[module] += 1
            continue
        # A timeout is a detected mutant, as mutmut itself counts it.
        kind = "killed" if status in ("killed", "timeout") else status
        timeouts[module] += status == "timeout"
        if kind == "survived" and name in EQUIVALENT:
            kind = "equivalent"
            equivalents.append((name, EQUIVALENT[name]))
        elif kind == "survived" and name in KILLED_BY_HAND:
            kind = "killed"
            by_hand.append((name, KILLED_BY_HAND[name]))
        elif kind != "killed":
            survivors.append(f"{name} ({status})")
        rows[module][kind] += 1
    for label, mutant in module_level.items():
        status = mutant["status"]
        if status == "not checked":  # a run stopped before it reached this one
            unchecked[mutant["module"] + " (module level)"] += 1
            continue
        # An equivalent listed after the run counts too, as for mutmut's mutants.
        if status in ("survived", "equivalent") and label in EQUIVALENT:
            status = "equivalent"
            equivalents.append((label, EQUIVALENT[label]))
        elif status != "killed":
            survivors.append(label)
        rows[mutant["module"] + " (module level)"][status] += 1
    lines = [
        "Made by `make mutate` from these result sets: " + "; ".join(described) + ".",
        "",
        "| module | mutants checked | not checked | killed (of which timeouts) | equivalent "
        "| survived | killed of non-equivalent |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    ok = True
    for module in sorted(set(rows) | set(unchecked)):
        counts = rows[module]
        killed, equivalent = counts["killed"], counts["equivalent"]
        others = sum(counts.values()) - killed - equivalent
        rate = killed / (killed + others) if killed + others else 1.0
        ok = ok and rate >= GOAL and not unchecked[module]  # a partial run proves nothing yet
        shown = f"{rate:.1%}" if sum(counts.values()) else "—"
        lines.append(
            f"| {module} | {sum(counts.values())} | {unchecked[module]} "
            f"| {killed} ({timeouts[module]}) "
            f"| {equivalent} | {others} "
            f"| {shown} |"
        )
    lines += ["", "Surviving mutants (`mutmut show NAME` prints one):", ""]
    lines += [f"- {name}" for name in survivors] or ["- none"]
    lines += [
        "",
        "Killed by a test, checked by applying the mutant by hand (tools/equivalent.py, "
        "KILLED_BY_HAND): a test written after the run, or one that mutmut does not select "
        "for the mutant (it misses calls made from Django's async handler):",
        "",
    ]
    lines += [f"- {name}: {test}" for name, test in by_hand] or ["- none"]
    lines += ["", "Accepted equivalent mutants (listed in tools/equivalent.py):", ""]
    lines += [f"- {name}: {reason}" for name, reason in equivalents] or ["- none"]
    _warn_stale({name for name, _ in equivalents + by_hand}, set(rows))
    return "\n".join(lines), ok


def _warn_stale(used: set[str], modules: set[str]) -> None:
    """Name the entries of tools/equivalent.py that no surviving mutant of a module in the
    summary matched: the mutant is killed now, or its function changed and mutmut numbers it
    anew. They would hide a real survivor that later took the same name."""
    stale = [
        name
        for name in [*EQUIVALENT, *KILLED_BY_HAND]
        if name not in used
        and (name.split(": ")[0] + " (module level)" if ": " in name else _module_of(name))
        in modules
    ]
    for name in stale:
        print(f"tools/equivalent.py: no survivor matches {name!r}; remove it", file=sys.stderr)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "target", nargs="?", type=Path, default=ROOT / "docs" / "maintainers" / "testing.md"
    )
    parser.add_argument(
        "--from",
        dest="sets",
        type=Path,
        action="append",
        help="a saved result set (repeatable; the last wins); default mutants/saved",
    )
    arguments = parser.parse_args()
    text = arguments.target.read_text(encoding="utf-8")
    before, _, rest = text.partition(START)
    _, _, after = rest.partition(END)
    body, ok = summary(arguments.sets or [ROOT / "mutants" / "saved"])
    arguments.target.write_text(f"{before}{START}\n{body}\n{END}{after}", encoding="utf-8")
    print(body)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
