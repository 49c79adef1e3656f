"""The built wheel, installed with its django extra into a clean virtual environment, renders a
page: what `pip install "metatrace-html[django]"` gives a user, without this checkout around."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

from tests.conftest import (
    INCOMING_SPAN,
    INCOMING_TRACE,
    decode_baggage,
    parse_trace_meta,
    split_sentry_trace,
)
from tests.test_readme import first_python_block

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]

# A one-file Django site: the app, the middleware, a page with the template tag.
SITE = """
import json
import django
from django.conf import settings

settings.configure(
    INSTALLED_APPS=["metatrace"],
    MIDDLEWARE=["metatrace.middleware.TraceMiddleware"],
    ROOT_URLCONF=__name__,
    ALLOWED_HOSTS=["testserver"],
    TEMPLATES=[{"BACKEND": "django.template.backends.django.DjangoTemplates"}],
    METATRACE={"DSN": "https://0123456789abcdef0123456789abcdef@o1.ingest.example.invalid/1"},
)
django.setup()

from django.http import HttpResponse
from django.template import engines
from django.test import Client
from django.urls import path

import metatrace

PAGE = engines["django"].from_string("{% load metatrace %}<head>{% trace_meta %}</head>")
urlpatterns = [path("", lambda request: HttpResponse(PAGE.render({}, request)))]
response = Client().get("/", headers={"sentry-trace": SENTRY_TRACE})
print(json.dumps({"file": metatrace.__file__, "html": response.content.decode()}))
"""


def _run(*command: str | Path, cwd: Path) -> str:
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"{command}\n{result.stdout}\n{result.stderr}"
    return result.stdout


def test_the_wheel_renders_a_page_in_a_clean_venv(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    # --no-isolation: hatchling comes with the dev extra, so this needs no download.
    _run(
        sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", dist, ROOT, cwd=ROOT
    )
    wheel = next(dist.glob("*.whl"))
    assert wheel.name == f"metatrace_html-{PROJECT['version']}-py3-none-any.whl"

    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp_path)
    python = venv / "bin" / "python"
    # This environment's pip installs into the new one (and reuses its download cache).
    _run(
        sys.executable, "-m", "pip", "--python", python, "install", "--quiet",
        f"{PROJECT['name']}[django] @ {wheel.as_uri()}", cwd=tmp_path,
    )  # fmt: skip

    sentry_trace = f"{INCOMING_TRACE}-{INCOMING_SPAN}-1"
    site = SITE.replace("SENTRY_TRACE", repr(sentry_trace))
    # -I: neither this checkout nor the current directory is on sys.path.
    output = json.loads(_run(python, "-I", "-c", site, cwd=tmp_path))
    assert Path(output["file"]).is_relative_to(venv), output["file"]
    tags = parse_trace_meta(output["html"])
    trace_id, span_id, sampled = split_sentry_trace(tags["sentry-trace"])
    assert (trace_id, sampled) == (INCOMING_TRACE, "1") and span_id != INCOMING_SPAN
    assert decode_baggage(tags["baggage"])["public_key"] == "0123456789abcdef0123456789abcdef"

    # The README's first example, as a newcomer runs it after `pip install`.
    example = parse_trace_meta(_run(python, "-I", "-c", first_python_block(), cwd=tmp_path))
    assert split_sentry_trace(example["sentry-trace"])[0] == INCOMING_TRACE and example["baggage"]
