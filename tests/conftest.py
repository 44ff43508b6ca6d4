"""Shared fixtures live in tests/support, one module per real service; the app fixtures used by
several suites are here."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.support.app import app_client, hermetic_settings

pytest_plugins = [
    "tests.support.postgres",
    "tests.support.redis",
    "tests.support.openai_stub",
]


@pytest.fixture
def pg_embedding_dim() -> int:
    """The PostgreSQL fixtures migrate with the dimension the app will be configured with."""
    return hermetic_settings().embedding_dim


@pytest.fixture(params=["memory", "postgres"])
async def api(request: pytest.FixtureRequest) -> AsyncIterator[httpx.AsyncClient]:
    """The real app in-process, on the memory adapters and again on PostgreSQL (pgvector)."""
    if request.param == "postgres":
        dsn = request.getfixturevalue("pg_dsn")
        settings = hermetic_settings(fastwrap_storage="postgres", database_url=dsn)
    else:
        settings = hermetic_settings()
    async with app_client(settings) as client:
        yield client
