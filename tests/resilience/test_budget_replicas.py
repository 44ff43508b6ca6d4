"""Two FastWrap instances (one PostgreSQL, one Redis) share every token budget (SPEC §13) and
one usage ledger."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from tests.support.app import (
    app_client,
    bootstrap_admin,
    hermetic_settings,
    make_character,
    sign_up,
)

pytestmark = pytest.mark.integration


@pytest.fixture
async def replicas(
    pg_dsn: str, redis_url: str, redis_namespace: str
) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    settings = hermetic_settings(
        fastwrap_storage="postgres",
        database_url=pg_dsn,
        redis_url=redis_url,
        redis_key_prefix=redis_namespace,
    )
    async with app_client(settings) as a, app_client(settings) as b:
        yield a, b


async def test_a_budget_spent_on_one_replica_is_spent_on_both(
    replicas: tuple[httpx.AsyncClient, httpx.AsyncClient],
) -> None:
    a, b = replicas
    admin = await bootstrap_admin(a)
    alice = await sign_up(a, "alice@example.com")
    cid = await make_character(a, alice, end_user_daily_tokens=1)
    await a.patch(
        f"/admin/clients/{alice.id}", json={"token_budget_daily": 10_000}, headers=admin.headers
    )

    async def say(replica: httpx.AsyncClient, end_user: str) -> httpx.Response:
        body = {"character_id": cid, "content": "hello", "end_user": end_user}
        return await replica.post("/api/chat", json=body, headers=alice.headers)

    assert (await say(a, "eve")).status_code == 201  # eve had 1 token left: admitted
    refused = await say(b, "eve")
    assert refused.status_code == 429
    assert "end_user_daily_tokens" in refused.json()["detail"]
    assert (await say(b, "bob")).status_code == 201

    # The client's own budget, counted by both replicas at once.
    spent = await a.get("/api/usage", headers=alice.headers)
    [row] = spent.json()["data"]["items"]
    used = row["input_tokens"] + row["output_tokens"]
    await a.patch(
        f"/admin/clients/{alice.id}",
        json={"token_budget_daily": used + 1},
        headers=admin.headers,
    )
    # The PATCH answers once every replica has seen the change (the lookup caches' feed).
    users = [f"user-{n}" for n in range(10)]
    burst = await asyncio.gather(*(say(a if n % 2 else b, u) for n, u in enumerate(users)))
    assert {r.status_code for r in burst} <= {201, 429}
    for replica in (a, b):
        after = await say(replica, "zed")
        assert after.status_code == 429, after.text
        assert "token_budget_daily" in after.json()["detail"]
    # One ledger: both replicas' calls, each once.
    report = await b.get("/api/usage", params={"group_by": "end_user"}, headers=alice.headers)
    rows = {r["end_user"]: r["requests"] for r in report.json()["data"]["items"]}
    admitted = sum(r.status_code == 201 for r in burst)
    assert sum(rows.values()) == 2 + admitted
    assert set(rows.values()) == {1}
