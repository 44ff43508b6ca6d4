"""Two FastWrap instances (two containers, one PostgreSQL, one Redis) behave as one service.

Run against a single Redis and against a 3-master Redis Cluster (`redis+cluster://`): a
conversation continues on the other replica, a rate budget is shared, a rotated key dies on
both at once, and 50 concurrent turns spread over both are all kept, each with its own reply.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any
from uuid import uuid4

import httpx
import pytest

from tests.resilience.redis_cluster import LocalRedisCluster
from tests.resilience.turns import assert_each_turn_whole, concurrent_turns, stored_messages
from tests.support.app import app_client, hermetic_settings, make_character, sign_up

pytestmark = pytest.mark.integration

type Replicas = Callable[..., AbstractAsyncContextManager[tuple[httpx.AsyncClient, ...]]]


@pytest.fixture(params=["redis", "redis-cluster"])
def replicas(request: pytest.FixtureRequest, pg_dsn: str) -> Replicas:
    """Opens two apps on the same PostgreSQL and Redis (settings overrides may be passed)."""
    if request.param == "redis":
        url = request.getfixturevalue("redis_url")
        prefix = request.getfixturevalue("redis_namespace")
    else:
        cluster: LocalRedisCluster = request.getfixturevalue("redis_cluster")
        url, prefix = cluster.url, f"fw-test-{uuid4().hex[:12]}:"

    @asynccontextmanager
    async def two(**overrides: Any) -> AsyncIterator[tuple[httpx.AsyncClient, ...]]:
        settings = hermetic_settings(
            fastwrap_storage="postgres",
            database_url=pg_dsn,
            redis_url=url,
            redis_key_prefix=prefix,
            **overrides,
        )
        async with app_client(settings) as a, app_client(settings) as b:
            yield a, b

    return two


async def test_a_conversation_continues_on_the_other_replica(replicas: Replicas) -> None:
    async with replicas() as (a, b):
        alice = await sign_up(a, "alice@example.com")
        cid = await make_character(a, alice)

        async def say(replica: httpx.AsyncClient, content: str, character: str = cid) -> int:
            body = {"character_id": character, "content": content, "conversation_id": "c1"}
            return (await replica.post("/api/chat", json=body, headers=alice.headers)).status_code

        assert await say(a, "one") == 201
        assert await say(b, "two") == 201
        for replica in (a, b):
            response = await replica.get("/api/conversations/c1", headers=alice.headers)
            contents = [m["content"] for m in response.json()["data"]["messages"]]
            assert contents[0::2] == ["one", "two"]

        other = await make_character(b, alice)
        assert await say(b, "three", character=other) == 409
        assert (await b.delete("/api/conversations/c1", headers=alice.headers)).status_code == 204
        assert (await a.get("/api/conversations/c1", headers=alice.headers)).status_code == 404


async def test_replicas_share_one_rate_budget(replicas: Replicas) -> None:
    async with replicas(rate_limit_enabled=True, rate_limit_api="5/minute") as (a, b):
        alice = await sign_up(a, "alice@example.com")
        statuses = [
            (await replica.get("/api/characters", headers=alice.headers)).status_code
            for replica in (a, a, a, b, b, b)
        ]
        assert statuses == [200] * 5 + [429]
        refused = await a.get("/api/characters", headers=alice.headers)
        assert refused.status_code == 429
        assert int(refused.headers["retry-after"]) >= 1
        assert refused.headers["ratelimit-limit"] == "5"
        assert refused.headers["ratelimit-remaining"] == "0"


async def test_replicas_leasing_a_budget_admit_exactly_it(replicas: Replicas) -> None:
    # 200 an hour: room enough for each replica to lease requests (one Redis round trip for
    # several), and one request back only every 18 s, long after this test.
    async with replicas(rate_limit_enabled=True, rate_limit_api="200/hour") as (a, b):
        alice = await sign_up(a, "alice@example.com")
        statuses = [
            (await replica.get("/api/characters", headers=alice.headers)).status_code
            for replica in [a, a, a, b, b] * 50
        ]
        assert statuses.count(200) == 200
        assert set(statuses) == {200, 429}
        assert statuses[-10:] == [429] * 10


async def test_a_rotated_key_dies_on_every_replica_at_once(replicas: Replicas) -> None:
    async with replicas() as (a, b):
        alice = await sign_up(a, "alice@example.com")
        assert (await b.get("/api/characters", headers=alice.headers)).status_code == 200

        rotated = await a.post("/clients/me/regenerate-key", headers=alice.headers)
        assert rotated.status_code == 201
        new_key = rotated.json()["data"]["api_key"]

        for replica in (b, a):
            old = await replica.get("/api/characters", headers=alice.headers)
            assert old.status_code == 401
            assert old.headers["www-authenticate"] == "ApiKey"
            fresh = await replica.get("/api/characters", headers={"x-api-key": new_key})
            assert fresh.status_code == 200


async def test_concurrent_turns_spread_over_replicas_are_all_kept(replicas: Replicas) -> None:
    async with replicas() as (a, b):
        alice = await sign_up(a, "alice@example.com")
        cid = await make_character(a, alice)
        sent = await concurrent_turns([a, b], alice, cid, count=50)

        for replica in (a, b):
            assert_each_turn_whole(await stored_messages(replica, alice), sent)
