"""A corpus of hostile values (tests/data/hostile.json) in every field of every sample page:
each page keeps exactly its own elements and attributes, and what survives round-trips."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from bs4 import BeautifulSoup
from django.test import Client

import metatrace
from tests.conftest import (
    INCOMING_SPAN,
    INCOMING_TRACE,
    SAMPLE_PAGES,
    decode_baggage,
    encodable,
    parse_trace_meta,
)

pytestmark = pytest.mark.usefixtures("django_config")

VALID = f"{INCOMING_TRACE}-{INCOMING_SPAN}-1"
VALID_TP = f"00-{INCOMING_TRACE}-{INCOMING_SPAN}-01"
DSC = f"sentry-trace_id={INCOMING_TRACE},sentry-public_key=c1c1,sentry-sample_rand=0.5"
SERVER_DSN = "https://5e5e5e5e@o7.ingest.example.invalid/2"


def _corpus() -> list[Any]:
    rows = json.loads((Path(__file__).parent / "data" / "hostile.json").read_text())
    values = []
    for row in rows:
        value = row["value"] if "value" in row else row["repeat"][0] * row["repeat"][1]
        values.append(pytest.param(value, id=row["name"]))
    return values


def _percent(value: str) -> str:
    return quote(value.encode("utf-8", "surrogatepass"), safe="")


# Where a hostile value can go: field name -> incoming headers carrying it.
FIELDS: dict[str, Callable[[str], dict[str, str]]] = {
    "sentry-trace": lambda v: {"sentry-trace": v},
    "sentry-trace-suffix": lambda v: {"sentry-trace": VALID + v, "baggage": DSC},
    "traceparent": lambda v: {"traceparent": v},
    "traceparent-suffix": lambda v: {"traceparent": VALID_TP + v},
    "baggage-value-raw": lambda v: {"sentry-trace": VALID, "baggage": f"{DSC},sentry-release={v}"},
    "baggage-value-encoded": lambda v: {
        "sentry-trace": VALID,
        "baggage": f"{DSC},sentry-release={_percent(v)}",
    },
    "baggage-key": lambda v: {"sentry-trace": VALID, "baggage": f"{DSC},sentry-{v}=1"},
    "third-party-member": lambda v: {"sentry-trace": VALID, "baggage": f"{DSC},{v},vendor={v}"},
}


def _structure(html: str) -> list[tuple[str, tuple[str, ...]]]:
    """Every element with its attribute names, in document order; text is left out."""
    soup = BeautifulSoup(html, "html.parser")
    return [(tag.name, tuple(sorted(tag.attrs))) for tag in soup.find_all(True)]


@pytest.fixture
def server(settings: Any) -> Client:
    # With a key, even a trace restarted by hostile input renders every tag.
    settings.METATRACE = {**settings.METATRACE, "DSN": SERVER_DSN, "TRACES_SAMPLE_RATE": 1.0}
    settings.SAMPLE_DOWNSTREAM_URL = "http://127.0.0.1:9/"  # refused at once
    return Client()


@pytest.fixture(scope="module")
def baselines() -> dict[str, list[tuple[str, tuple[str, ...]]]]:
    return {}


def _baseline(client: Client, path: str, cache: dict[str, Any]) -> Any:
    if path not in cache:
        response = client.get(path, headers={"sentry-trace": VALID, "baggage": DSC})
        cache[path] = _structure(response.content.decode())
    return cache[path]


@pytest.mark.parametrize("field", list(FIELDS))
@pytest.mark.parametrize("value", _corpus())
def test_hostile_value_in_every_field_of_every_page(
    server: Client, baselines: dict[str, Any], field: str, value: str
) -> None:
    # As a WSGI server hands them over: the raw bytes, decoded as latin-1.
    headers = {
        name: text.encode("utf-8", "surrogatepass").decode("latin-1")
        for name, text in FIELDS[field](value).items()
    }
    for path in SAMPLE_PAGES:
        response = server.get(path, headers=headers)
        assert response.status_code == 200, path
        html = response.content.decode()
        assert _structure(html) == _baseline(server, path, baselines), path
        tags = parse_trace_meta(html)
        assert set(tags) == {"sentry-trace", "baggage", "traceparent"}
        # Whatever sentry items the server kept reach the page intact.
        dsc = decode_baggage(tags["baggage"])
        assert dsc == response.wsgi_request.metatrace.dsc  # type: ignore[attr-defined]
        if field == "baggage-value-encoded" and dsc["public_key"] == "c1c1" and encodable(value):
            # The incoming DSC survived (the header was within the limits): so did the value,
            # read stripped as OpenTelemetry reads it; an empty one is skipped.
            assert dsc.get("release") == (value.strip() or None)


@pytest.mark.parametrize("value", _corpus())
def test_hostile_configured_values_round_trip(settings: Any, value: str) -> None:
    if not encodable(value):
        with pytest.raises(Exception, match="is not valid text"):
            metatrace.configure(public_key="abc", release=value)
        return
    metatrace.configure(public_key="abc", release=value, environment=value, w3c=True)
    metatrace.continue_trace({})
    html = metatrace.trace_meta()
    assert _structure(html) == [("meta", ("content", "name"))] * 3
    dsc = decode_baggage(parse_trace_meta(html)["baggage"])
    if len(f"sentry-release={_percent(value)}") > 4096:
        assert "release" not in dsc and "environment" not in dsc  # over the member limit
    else:
        # Read stripped, as OpenTelemetry reads baggage; an empty item is skipped.
        expected = value.strip() or None
        assert (dsc.get("release"), dsc.get("environment")) == (expected, expected)


@pytest.mark.parametrize("field", list(FIELDS))
@pytest.mark.parametrize("value", _corpus())
def test_outgoing_headers_stay_visible_ascii(field: str, value: str) -> None:
    metatrace.configure(public_key="abc", w3c=True)
    metatrace.continue_trace(FIELDS[field](value))
    for name, header in metatrace.propagation_headers().items():
        assert header and all("\x21" <= char <= "\x7e" for char in header), (name, header[:200])
        assert len(header.encode()) <= 8192
