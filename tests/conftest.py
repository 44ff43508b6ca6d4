"""Shared fixtures live in tests/support, one module per real service; the app fixtures used by
several suites are here."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.support.app import app_client, hermetic_settings
from tests.support.services import integration

pytest_plugins = [
    "tests.support.postgres",
    "tests.support.redis",
    "tests.support.openai_stub",
    "tests.support.usage",
]


# The shared services' root fixtures: a test that needs one, itself or through its fixtures,
# is an integration test. (A fixture that picks its backend by parameter marks that parameter
# with `integration(...)`: what it asks for at run time is not in the static closure.)
SERVICE_FIXTURES = frozenset({"pg_server", "redis_url"})


@pytest.hookimpl(tryfirst=True)  # before `-m` selects
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if SERVICE_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.integration)


@pytest.fixture
def pg_embedding_dim() -> int:
    """The PostgreSQL fixtures migrate with the dimension the app will be configured with."""
    return hermetic_settings().embedding_dim


@pytest.fixture(params=["memory", integration("postgres")])
async def api(request: pytest.FixtureRequest) -> AsyncIterator[httpx.AsyncClient]:
    """The real app in-process, on the memory adapters and again on PostgreSQL (pgvector)."""
    if request.param == "postgres":
        dsn = request.getfixturevalue("pg_dsn")
        settings = hermetic_settings(fastwrap_storage="postgres", database_url=dsn)
    else:
        settings = hermetic_settings()
    async with app_client(settings) as client:
        yield client
