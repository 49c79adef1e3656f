"""metatrace/_pages/responses.py: with SOURCE "elasticapm", a page's head carries one Elastic
page-load script, this request's.

Elastic's real agent, in a fresh interpreter (its global state stays out of this process): each
page goes through both paths that check the script, `read_page(...).body()` and `carry_head()`.
The stale and repeated scripts of a plain head are in tests/pages/test_responses.py."""

from __future__ import annotations

import json
from typing import Any

import pytest
from bs4 import BeautifulSoup

from metatrace._pages.responses import HEAD_LIMIT
from tests.conftest import run_python
from tests.sources.agents import ELASTIC

OTHER = "0123456789abcdef0123456789abcdef"
OPEN = '<script type="application/json" id="elastic-apm-page-load">'
STALE = OPEN + '{"pageLoadTraceId":"' + OTHER + '"}</script>'
# Written by hand, or by an older release: bytes that are not ASCII.
STALE_UTF8 = OPEN + '{"pageLoadTraceId":"' + OTHER + '","note":"café"}</script>'
STALE_LONG = OPEN + '{"pageLoadTraceId":"' + OTHER + '","note":"' + "x" * 300 + '"}</script>'

# {ours}: this request's script, as metatrace renders it.
PAGES = {
    "once": "<!doctype html><html><head>{ours}<title>t</title></head><body></body></html>",
    "first byte": STALE + "<title>t</title><p>x</p>",  # a page that starts with the script
    "after the head": "<html><head>{ours}</head><body>" + STALE + "{ours}<p>x</p></body></html>",
    "ours then stale": "<html><head>{ours}<title>t</title>" + STALE + "</head></html>",
    "not ascii": "<html><head>" + STALE_UTF8 + "<title>t</title></head></html>",
    "long": "<html><head>" + STALE_LONG + "<title>t</title></head></html>",
}

PROGRAM = (
    ELASTIC.split("out = {{")[0].format(source="elasticapm", rate=1.0, parent=None)
    + f"PAGES = {PAGES!r}\n"
    + """
import logging
from metatrace._pages import responses
from metatrace._pages.responses import carry_head, read_page

warnings = []
class Kept(logging.Handler):
    def emit(self, record):
        warnings.append(record.getMessage())
logging.getLogger("metatrace").addHandler(Kept())
transaction = client.begin_transaction("request")
ours = str(metatrace.elastic_page_load())
out = {"trace": transaction.trace_parent.trace_id, "ours": ours, "pages": {}}
for name, page in PAGES.items():
    body = page.replace("{ours}", ours).encode()
    made = {}
    for path in ("general", "common"):
        responses._warned.clear()
        del warnings[:]
        if path == "general":
            outgoing = read_page({"content-type": "text/html"}, 200, complete=True)
            new = outgoing.body(body, lambda: "the page '/e'")
        else:
            new, _ = carry_head(body, lambda: "the page '/e'")
        made[path] = {"body": new.decode(), "warnings": list(warnings)}
    out["pages"][name] = made
client.end_transaction("GET /")
client.close()
print(json.dumps(out))
"""
)


@pytest.fixture(scope="module")
def made() -> dict[str, Any]:
    """What both paths made of each of PAGES, with the warnings each gave."""
    code = f"import os; os.environ['SETUP_RECORD'] = '/dev/null'\n{PROGRAM}"
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    out: dict[str, Any] = json.loads(result.stdout)
    assert out["trace"] in out["ours"]
    for pages in out["pages"].values():  # the common page's path makes what the general one makes
        assert pages["general"] == pages["common"]
    return out


def page(made: dict[str, Any], name: str) -> tuple[str, list[str]]:
    """The body made of PAGES[name], and the warnings given for it."""
    result = made["pages"][name]["general"]
    return result["body"], result["warnings"]


def expected(made: dict[str, Any], name: str, *, stale: str) -> str:
    """PAGES[name] with this request's script where `stale` was."""
    return PAGES[name].replace(stale, "{ours}").replace("{ours}", made["ours"])


def stale_warning(quoted: str) -> str:
    return (
        f"metatrace: the page '/e' rendered the trace tags of another trace ({quoted}), so "
        "they were replaced with this request's."
    )


@pytest.mark.parametrize("name", ["once", "after the head"])
def test_this_requests_script_once_in_the_head_is_left_as_it_is_without_a_warning(
    made: dict[str, Any], name: str
) -> None:
    # Scripts after the head are the page's own business: only the head's are checked.
    body, warnings = page(made, name)
    assert body == PAGES[name].replace("{ours}", made["ours"])
    assert warnings == []


def test_a_stale_script_at_the_pages_first_byte_is_replaced(made: dict[str, Any]) -> None:
    body, warnings = page(made, "first byte")
    assert body == expected(made, "first byte", stale=STALE)
    [script] = BeautifulSoup(body, "html.parser").find_all("script")
    assert json.loads(script.get_text())["pageLoadTraceId"] == made["trace"]
    [warning] = warnings
    assert warning.startswith(stale_warning(repr(STALE)))


def test_a_stale_script_after_this_requests_is_removed_and_quoted(made: dict[str, Any]) -> None:
    body, warnings = page(made, "ours then stale")
    assert body == PAGES["ours then stale"].replace(STALE, "").replace("{ours}", made["ours"])
    [warning] = warnings
    assert warning.startswith(stale_warning(repr(STALE)))  # the stale one, not this request's


def test_a_stale_script_with_bytes_beyond_ascii_is_replaced_and_quoted_with_replacement_marks(
    made: dict[str, Any],
) -> None:
    body, warnings = page(made, "not ascii")
    assert body == expected(made, "not ascii", stale=STALE_UTF8)
    [warning] = warnings  # "é" is two bytes in UTF-8: two marks
    assert warning.startswith(stale_warning(repr(STALE_UTF8.replace("é", "\ufffd\ufffd"))))


def test_a_long_stale_script_is_quoted_by_its_first_200_characters(made: dict[str, Any]) -> None:
    body, warnings = page(made, "long")
    assert body == expected(made, "long", stale=STALE_LONG)
    [warning] = warnings
    assert warning.startswith(stale_warning(repr(STALE_LONG[:200])))


# A page's bytes past HEAD_LIMIT are unreadable here: reading one kills the interpreter
# (SIGBUS), so the check must stop at the bound, as it says it does.
UNREADABLE_PAST_LIMIT = """
import mmap, tempfile
from metatrace._pages import responses
limit = responses.HEAD_LIMIT
with tempfile.TemporaryFile() as file:
    file.truncate(2 * limit)
    page = mmap.mmap(file.fileno(), 2 * limit)
    page[:limit] = b"<html><head><title>t</title></head><body>" + b"x" * (limit - 41)
    file.truncate(limit)
    assert responses._fixed_elastic(page, "0123456789abcdef0123456789abcdef", str) is page
print("read within the bound")
"""


def test_a_page_past_the_head_limit_is_not_read_for_elastic_scripts() -> None:
    assert HEAD_LIMIT % 4096 == 0  # the mapping's pages end at the bound
    result = run_python(UNREADABLE_PAST_LIMIT)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "read within the bound\n"
