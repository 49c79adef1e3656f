"""`make lock`: resolve what `make test` installs, once, into tools/locks/ (uv pip compile):
dev.txt for .venv (Python 3.11, the dev extra), and one lock per session of the version
matrix (tools/matrix.py). `make test` installs exactly these releases; run this to move them
on, after `make newest` has shown that the newest releases pass."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from matrix import LOCKS, MATRIX, ROOT, pins

HEADER = "# Made by `make lock` (tools/lock.py); `make test` installs exactly these.\n"


def compile_lock(python: str, extra: str, wanted: list[str], output: Path) -> None:
    with tempfile.NamedTemporaryFile("w", suffix=".in", delete=False) as requirements:
        requirements.write("".join(f"{pin}\n" for pin in wanted))
    command = [
        sys.executable, "-m", "uv", "pip", "compile", "--quiet", "--no-header",
        "--python-version", python, "--extra", extra, "--no-emit-package", "metatrace-html",
        str(ROOT / "pyproject.toml"), requirements.name, "-o", str(output),
    ]  # fmt: skip
    subprocess.run(command, check=True, cwd=ROOT)
    Path(requirements.name).unlink()
    output.write_text(HEADER + output.read_text(encoding="utf-8"), encoding="utf-8")


def main() -> None:
    LOCKS.mkdir(exist_ok=True)
    for old in LOCKS.glob("*.txt"):
        old.unlink()
    compile_lock("3.11", "dev", [], LOCKS / "dev.txt")
    for session in MATRIX:
        compile_lock(session.python, "test", pins(session), session.lock)
        print(f"{session.name}: {session.lock.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
