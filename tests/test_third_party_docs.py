"""docs/third-party.md shows the recipes that tests/realworld runs: each block marked
`<!-- tested: PATH -->` must be in PATH as it is shown, so the page cannot drift from them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGE = (ROOT / "docs" / "third-party.md").read_text(encoding="utf-8")
BLOCK = re.compile(r"^(?:<!-- tested: (\S+) -->\n)?```(\S+)\n(.*?)^```", flags=re.M | re.S)
MARKED = [(path, code) for path, _language, code in BLOCK.findall(PAGE) if path]


@pytest.mark.parametrize(("path", "code"), MARKED, ids=[path for path, _ in MARKED])
def test_the_recipe_is_the_tested_file(path: str, code: str) -> None:
    assert path.startswith("tests/realworld/")
    assert code in (ROOT / path).read_text(encoding="utf-8")


def test_every_text_block_names_the_file_that_runs_it() -> None:
    # A ```text block needs Wagtail, the admin or DRF, so it runs in tests/realworld.
    text = [(path, code) for path, language, code in BLOCK.findall(PAGE) if language == "text"]
    assert text and all(path for path, _ in text), text
    assert len(MARKED) == 5  # the four text recipes and 500.html
