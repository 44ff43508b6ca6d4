"""The HTTP suite runs on the in-memory adapters and again on PostgreSQL (pgvector)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.support.app import Tenant, app_client, hermetic_settings, sign_up


@pytest.fixture
def pg_embedding_dim() -> int:
    """The PostgreSQL fixtures migrate with the dimension the app will be configured with."""
    return hermetic_settings().embedding_dim


@pytest.fixture(params=["memory", "postgres"])
async def api(request: pytest.FixtureRequest) -> AsyncIterator[httpx.AsyncClient]:
    if request.param == "postgres":
        dsn = request.getfixturevalue("pg_dsn")
        settings = hermetic_settings(fastwrap_storage="postgres", database_url=dsn)
    else:
        settings = hermetic_settings()
    async with app_client(settings) as client:
        yield client


@pytest.fixture
async def alice(api: httpx.AsyncClient) -> Tenant:
    return await sign_up(api, "alice@example.com")


@pytest.fixture
async def bob(api: httpx.AsyncClient) -> Tenant:
    return await sign_up(api, "bob@example.com")
