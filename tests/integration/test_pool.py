"""The pooled connection every query runs on (real PostgreSQL): errors as domain errors, and a
bounded wait for a connection when every one is busy."""

from __future__ import annotations

import asyncio
import time

import asyncpg
import pytest

from fastwrap.adapters.postgres import pool as pool_module
from fastwrap.adapters.postgres.pool import close_pool, connection, create_pool
from fastwrap.domain.errors import Unavailable

pytestmark = pytest.mark.integration


async def test_a_busy_pool_answers_unavailable_after_its_wait(
    pg_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pool_module, "ACQUIRE_TIMEOUT", 0.3)
    pool = await create_pool(pg_dsn, min_size=1, max_size=1)
    try:
        async with connection(pool) as held:
            assert pool.get_idle_size() == 0
            started = time.monotonic()
            with pytest.raises(Unavailable, match="database unavailable"):
                async with asyncio.timeout(5), connection(pool):  # unbounded: TimeoutError
                    pass
            waited = time.monotonic() - started
            assert await held.fetchval("SELECT 1") == 1  # the holder is unharmed
        assert 0.25 < waited < 5  # the wait was bounded (never asserted as a benchmark)

        async with connection(pool) as conn:  # given back: the next caller gets it at once
            assert await conn.fetchval("SELECT 2") == 2
    finally:
        await close_pool(pool)


async def test_a_waiting_caller_gets_the_connection_when_it_is_given_back(pg_dsn: str) -> None:
    pool = await create_pool(pg_dsn, min_size=1, max_size=1)
    try:
        held, asking, release = asyncio.Event(), asyncio.Event(), asyncio.Event()

        async def hold() -> None:
            async with connection(pool):
                held.set()
                await release.wait()

        holder = asyncio.create_task(hold())
        await held.wait()
        assert pool.get_idle_size() == 0

        async def query() -> int:
            asking.set()  # no await until the acquire waits: we resume once it does
            async with connection(pool) as conn:
                value: int = await conn.fetchval("SELECT 3")
                return value

        waiting = asyncio.create_task(query())
        await asking.wait()
        assert not waiting.done()
        release.set()
        assert await asyncio.wait_for(waiting, 5) == 3
        await holder
    finally:
        await close_pool(pool)


async def test_driver_errors_in_the_block_arrive_as_domain_errors_or_as_they_are(
    pg_dsn: str,
) -> None:
    pool = await create_pool(pg_dsn, min_size=1, max_size=1)
    try:
        with pytest.raises(asyncpg.UndefinedTableError):  # a bug, not an outage: unchanged
            async with connection(pool) as conn:
                await conn.fetch("SELECT * FROM no_such_table")
        with pytest.raises(Unavailable):  # the connection died under the query
            async with connection(pool) as conn:
                await conn.execute("SELECT pg_terminate_backend(pg_backend_pid())")
        async with connection(pool) as conn:  # the pool replaced it
            assert await conn.fetchval("SELECT 4") == 4
    finally:
        await close_pool(pool)
