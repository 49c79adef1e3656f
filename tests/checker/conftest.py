"""The checker's fixtures: an empty cache, and the stdlib servers of tests/checker/servers.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.cache import cache

import metatrace
from tests.checker.servers import SITE_DSN, _Edges, _Odd, _Pages, _serve


@pytest.fixture
def empty_cache() -> None:
    cache.clear()


@pytest.fixture
def pages() -> Iterator[str]:
    metatrace.configure(dsn=SITE_DSN, w3c=True)
    with _serve(_Pages) as url:
        yield url


@pytest.fixture
def odd() -> Iterator[str]:
    metatrace.configure(dsn=SITE_DSN, w3c=True)
    with _serve(_Odd) as url:
        yield url


@pytest.fixture
def edges() -> Iterator[str]:
    metatrace.configure(dsn=SITE_DSN, w3c=True)
    with _serve(_Edges) as url:
        yield url
