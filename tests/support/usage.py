"""Fixtures for the usage ledger and budget counters: each port over its in-memory adapter and
its real one (PostgreSQL, Redis)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from fastwrap.adapters.memory.usage import InMemoryBudgetCounter, InMemoryUsageLedger
from fastwrap.adapters.postgres.pool import close_pool, create_pool
from fastwrap.adapters.postgres.usage import PgUsageLedger
from fastwrap.adapters.redis.budgets import RedisBudgetCounter
from fastwrap.adapters.redis.client import connect
from fastwrap.ports.usage import BudgetCounter, UsageLedger
from tests.support.clock import ManualClock
from tests.support.services import integration


@pytest.fixture(params=["memory", integration("postgres")])
async def ledger(request: pytest.FixtureRequest) -> AsyncIterator[UsageLedger]:
    if request.param == "memory":
        yield InMemoryUsageLedger()
        return
    dsn: str = request.getfixturevalue("pg_dsn")
    pool = await create_pool(dsn, min_size=1, max_size=4)
    try:
        yield PgUsageLedger(pool)
    finally:
        await close_pool(pool)


def real_now_clock() -> ManualClock:
    """Redis expires keys by its own clock: the counters' tests run at the real time."""
    return ManualClock(datetime.now(UTC))


@pytest.fixture(params=["in-process", integration("redis")])
async def budget_counter(request: pytest.FixtureRequest) -> AsyncIterator[BudgetCounter]:
    if request.param == "in-process":
        yield InMemoryBudgetCounter(real_now_clock())
        return
    url: str = request.getfixturevalue("redis_url")
    namespace: str = request.getfixturevalue("redis_namespace")
    client = connect(url)
    try:
        yield RedisBudgetCounter(client, key_prefix=namespace)
    finally:
        await client.aclose()
