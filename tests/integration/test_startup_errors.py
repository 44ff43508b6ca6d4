"""Bad database configuration stops start-up with one line naming the variable (SPEC §2).

Uses the machine's plain PostgreSQL server (127.0.0.1:5432, which has no pgvector) as the
"wrong server" a user might point DATABASE_URL at.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from uuid import uuid4

import asyncpg
import pytest

from fastwrap.adapters.postgres.storage import open_postgres_storage
from fastwrap.domain.errors import ConfigurationError
from tests.support.services import service_missing

pytestmark = pytest.mark.integration

SERVER = os.environ.get("FASTWRAP_TEST_PLAIN_POSTGRES", "postgresql://postgres@127.0.0.1:5432")


@pytest.fixture
async def plain_database() -> AsyncIterator[str]:
    """A fresh database on a server without pgvector."""
    name = f"fw_plain_{uuid4().hex[:10]}"
    try:
        admin = await asyncpg.connect(f"{SERVER}/postgres", timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        service_missing(f"plain PostgreSQL at {SERVER} unreachable: {exc}")
    try:
        if await admin.fetchval("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'"):
            pytest.skip("this server has pgvector; the test needs one without it")
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield f"{SERVER}/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await admin.close()


async def start(dsn: str) -> None:
    async with open_postgres_storage(
        dsn, adapter="postgres", pool_min=1, pool_max=2, embedding_dim=8
    ):
        pytest.fail("storage opened on a misconfigured database")


async def test_a_server_without_pgvector_is_named(plain_database: str) -> None:
    with pytest.raises(ConfigurationError, match=r"^DATABASE_URL: the server has no pgvector"):
        await start(plain_database)


async def test_a_missing_database_is_named(plain_database: str) -> None:
    with pytest.raises(ConfigurationError, match=r"^DATABASE_URL .*does not exist"):
        await start(f"{SERVER}/fw_no_such_database")


async def test_a_refused_user_is_named(plain_database: str) -> None:
    user_dsn = SERVER.replace("postgres@", "fw_no_such_role@")
    with pytest.raises(ConfigurationError, match=r"refused the user or password"):
        await start(f"{user_dsn}/postgres")
