"""The account state machine of tests/unit/test_account_machine.py, over PostgreSQL behind the
key-lookup cache (as `fastwrap serve` runs): the same promises, with real row locks, real
compare-and-set and real change notices."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import pytest

from fastwrap.adapters.bundles import Storage
from fastwrap.adapters.postgres.storage import open_postgres_storage
from tests.unit.test_account_machine import run_account_machine

pytestmark = pytest.mark.integration


def test_the_account_over_postgresql_behind_the_lookup_cache(
    pg_dsn: str, pg_embedding_dim: int
) -> None:
    @asynccontextmanager
    async def postgres() -> AsyncIterator[Storage]:
        conn = await asyncpg.connect(pg_dsn)
        try:
            await conn.execute(
                "TRUNCATE clients CASCADE"
            )  # a fresh example: everything hangs off clients
        finally:
            await conn.close()
        async with open_postgres_storage(
            pg_dsn,
            adapter="postgres",
            pool_min=1,
            pool_max=4,
            embedding_dim=pg_embedding_dim,
            lookup_cache_size=100,
        ) as storage:
            yield storage

    run_account_machine(postgres, examples=12, steps=20)
