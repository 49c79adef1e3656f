"""`make newest`: the whole suite with the newest release of everything, beyond the locks and
the extras' bounds (a sentry-sdk 4, say), to learn of upstream releases before users do. It is
not part of `make test`, whose releases are locked (tools/locks/). It prints what differs from
the locks and what broke, and exits with the suite's status.

Everything goes in .newest/: a virtual environment with the newest Python packages, and the
browser readers at npm's `latest` (their bundle is sample_site/static/sample/browser-latest.js;
the tests take it, and its @sentry/core, for their "newest" readers).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / ".newest"
VENV = WORK / "venv"
FRONTEND = WORK / "frontend"
LOCK = ROOT / "tools" / "locks" / "dev.txt"


def run(*command: str | Path, cwd: Path = ROOT, env: dict[str, str] | None = None) -> None:
    subprocess.run([str(part) for part in command], cwd=cwd, env=env, check=True)


def locked() -> dict[str, str]:
    """name -> version, as tools/locks/dev.txt has them."""
    pins = re.findall(r"^([A-Za-z0-9_.-]+)==([^\s;]+)", LOCK.read_text(), flags=re.M)
    return {name.lower(): version for name, version in pins}


def python_packages() -> dict[str, str]:
    python = VENV / "bin" / "python"
    run(sys.executable, "-m", "venv", "--clear", VENV)
    run(python, "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    run(python, "-m", "pip", "install", "--quiet", "-e", f"{ROOT}[dev]")
    # Every package of the lock at its newest release, past metatrace's own bounds (pip says
    # which bound it passed, and installs it).
    run(python, "-m", "pip", "install", "--quiet", "--upgrade", *locked())
    listed = subprocess.run(
        [python, "-m", "pip", "list", "--format=json"], capture_output=True, text=True, check=True
    ).stdout
    return {entry["name"].lower(): entry["version"] for entry in json.loads(listed)}


def browser_readers() -> dict[str, str]:
    """The readers of frontend/newest at npm's latest, built into browser-latest.js."""
    shutil.rmtree(FRONTEND, ignore_errors=True)
    FRONTEND.mkdir(parents=True)
    manifest = json.loads((ROOT / "frontend" / "newest" / "package.json").read_text())
    manifest["dependencies"] = dict.fromkeys(manifest["dependencies"], "latest")
    manifest["devDependencies"] = dict.fromkeys(manifest["devDependencies"], "latest")
    bundle = ROOT / "sample_site" / "static" / "sample" / "browser-latest.js"
    manifest["scripts"]["build"] = (
        manifest["scripts"]["build"]
        .replace("../../sample_site/static/sample/browser-newest.js", str(bundle))
        .replace("../src/browser.js", str(ROOT / "frontend" / "src" / "browser.js"))
    )
    (FRONTEND / "package.json").write_text(json.dumps(manifest, indent=2))
    shutil.copy(ROOT / "frontend" / "newest" / "otel-web.js", FRONTEND)
    run(
        "npm",
        "install",
        "--no-package-lock",
        "--no-audit",
        "--no-fund",
        "--loglevel=error",
        cwd=FRONTEND,
    )
    run("npm", "run", "--silent", "build", cwd=FRONTEND)
    found = {}
    for name in manifest["dependencies"]:
        package = json.loads((FRONTEND / "node_modules" / name / "package.json").read_text())
        found[name] = package["version"]
    return found


def main() -> int:
    WORK.mkdir(exist_ok=True)
    installed = python_packages()
    readers = browser_readers()
    pinned = locked()
    newer = sorted(
        f"{name} {pinned[name]} -> {version}"
        for name, version in installed.items()
        if name in pinned and pinned[name] != version
    )
    env = {**os.environ, "METATRACE_LATEST_READERS": str(FRONTEND)}
    report = WORK / "pytest.txt"
    with report.open("w") as output:
        suite = subprocess.run(
            [VENV / "bin" / "python", "-m", "pytest", "--ds=tests.settings", "-q", "-rfE",
             "-p", "no:cacheprovider"],
            cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT,
        )  # fmt: skip
    failed = [
        line for line in report.read_text().splitlines() if line.startswith(("FAILED", "ERROR"))
    ]
    print("\nmake newest: releases newer than tools/locks/dev.txt:")
    print("".join(f"  {line}\n" for line in newer) or "  none")
    print("browser readers at npm's latest: " + ", ".join(f"{n} {v}" for n, v in readers.items()))
    if failed:
        print(f"\nwhat broke ({len(failed)}; the whole output: {report.relative_to(ROOT)}):")
        print("".join(f"  {line}\n" for line in failed))
    else:
        print(f"\nnothing broke: {report.read_text().splitlines()[-1]}")
    return suite.returncode


if __name__ == "__main__":
    sys.exit(main())
