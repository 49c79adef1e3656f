"""Two visitors, each with a trace of their own, that no cached page may show to the other."""

from __future__ import annotations

from django.test import Client

A = {
    "sentry-trace": f"{'a' * 32}-{'1' * 16}-1",
    "baggage": f"sentry-trace_id={'a' * 32},sentry-user_id=alice",
}
B = {
    "sentry-trace": f"{'b' * 32}-{'2' * 16}-1",
    "baggage": f"sentry-trace_id={'b' * 32},sentry-user_id=bob",
}


def _two_visitors(client: Client, path: str) -> tuple[str, str]:
    first = client.get(path, headers=A).content.decode()
    second = client.get(path, headers=B).content.decode()
    return first, second


def _assert_no_trace_of(html: str, *visitors: dict[str, str]) -> None:
    for visitor in visitors:
        assert visitor["sentry-trace"][:32] not in html
        assert visitor["baggage"].rsplit("=", 1)[1] not in html
