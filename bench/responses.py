"""The response side: what giving an HTML page this request's trace costs (responses.py).

For a 50 KB page, through the Django middleware's response step: find the head, compare the
tags with the request's trace, add Server-Timing; against the same response passed through
untouched. The same for a 50 KB JSON response, which must cost next to nothing."""

from __future__ import annotations

from collections.abc import Callable

import metatrace

from .django_bench import setup_django
from .harness import Row, compare
from .micro import HEADERS, configure

_HEAD = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
{tags}
<title>Checkout · shop</title>
<link rel="preload" href="/static/fonts/inter.woff2" as="font" crossorigin>
<link rel="stylesheet" href="/static/site.css">
<link rel="icon" href="/static/favicon.svg">
<script src="/static/app.js" defer></script>
<script type="application/ld+json">{{"@context": "https://schema.org", "@type": "WebPage"}}</script>
</head>
<body>
"""
_ROW = '<tr><td><a href="/product/{i}/">Product {i}</a></td><td class="price">{i}.99 €</td></tr>\n'
SIZE = 50_000
HTML_BUDGET_US = 5.0  # "a few microseconds per HTML response"
OTHER_BUDGET_US = 0.5  # "nothing measurable" for the rest


def page(tags: str) -> bytes:
    rows: list[str] = []
    i = 0
    html = _HEAD.format(tags=tags)
    while len(html) + sum(len(row) for row in rows) < SIZE:
        rows.append(_ROW.format(i=i))
        i += 1
    return (html + "<table>\n" + "".join(rows) + "</table>\n</body>\n</html>\n").encode()


def bench_responses(rounds: int, seconds: float) -> list[Row]:
    setup_django()
    from django.http import HttpResponse
    from django.test import RequestFactory

    from metatrace.middleware import _carry_trace

    configure()
    request = RequestFactory().get("/checkout/")
    json = b'{"items": [' + b",".join(b'{"id": %d, "price": 9.99}' % i for i in range(2000)) + b"]}"
    results = []
    with metatrace.trace_scope(HEADERS) as trace:
        html = page(str(trace.meta()))

        def respond(body: bytes, content_type: str) -> Callable[[], object]:
            return lambda: HttpResponse(body, content_type=content_type)

        def carried(body: bytes, content_type: str) -> Callable[[], object]:
            return lambda: _carry_trace(request, HttpResponse(body, content_type=content_type))

        html_type, json_type = "text/html; charset=utf-8", "application/json"
        sample = carried(html, html_type)()
        assert sample["Server-Timing"].startswith('sentry-trace;desc="' + trace.trace_id)  # type: ignore[index]
        assert sample.content == html  # type: ignore[attr-defined]
        assert not carried(json, json_type)().has_header("Server-Timing")  # type: ignore[attr-defined]
        for label, body, content_type, budget in (
            (f"response side: HTML {len(html) // 1000} KB page", html, html_type, HTML_BUDGET_US),
            (f"response side: JSON {len(json) // 1000} KB", json, json_type, OTHER_BUDGET_US),
        ):
            t = compare([carried(body, content_type), respond(body, content_type)], rounds, seconds)
            added = t.micros[0] - t.micros[1]
            results.append(
                Row(
                    label,
                    f"+{added:.2f} µs",
                    f"≤ {budget:g} µs",
                    max(added, 0) / budget,
                    1.0,
                    f"{t.micros[0]:.2f} µs with the guarantees, {t.micros[1]:.2f} µs without "
                    f"(the response passed through untouched); ratio {t.ratios[0]:.3f}",
                )
            )
    return results
