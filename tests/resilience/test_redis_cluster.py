"""FastWrap on a 3-master Redis Cluster: one conversation's keys share a slot; cold clients.

The replica scenarios (continuity, shared budgets, revocation, 50 concurrent turns) run on the
cluster too: see test_replicas.py, parametrised over a single Redis and this cluster.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime
from uuid import uuid4

import pytest

from fastwrap.adapters.bundles import LiveState
from fastwrap.adapters.clock import SystemClock
from fastwrap.adapters.redis.live_state import open_redis_live_state
from fastwrap.adapters.redis.rate_limit import RedisRateLimiter
from fastwrap.domain.model import Message, RateLimit
from fastwrap.domain.rate_limits import RateCheck
from tests.resilience.redis_cluster import LocalRedisCluster
from tests.support.app import app_client, hermetic_settings, make_character, sign_up

pytestmark = pytest.mark.integration

CONVERSATION_KEYS = ("msgs", "meta", "lock")


def redis_cache(url: str, prefix: str) -> AbstractAsyncContextManager[LiveState]:
    """The cache a replica builds from REDIS_URL. A short lock TTL: a turn that fails to give
    its lock back would otherwise hold up the others for the default 15 s."""
    return open_redis_live_state(
        url,
        clock=SystemClock(),
        lock_wait_seconds=10,
        lock_ttl_seconds=1,
        max_messages=1000,
        key_prefix=prefix,
    )


def a_turn(n: int) -> tuple[Message, Message]:
    now = datetime.now(UTC)
    return (
        Message(role="user", content=f"q{n}", created_at=now),
        Message(role="assistant", content=f"a{n}", created_at=now),
    )


async def test_a_conversations_keys_live_in_one_slot(
    redis_cluster: LocalRedisCluster, pg_dsn: str
) -> None:
    prefix = f"fw-test-{uuid4().hex[:12]}:"
    settings = hermetic_settings(
        fastwrap_storage="postgres",
        database_url=pg_dsn,
        redis_url=redis_cluster.url,
        redis_key_prefix=prefix,
    )
    async with app_client(settings) as api:
        alice = await sign_up(api, "alice@example.com")
        cid = await make_character(api, alice)
        body = {"character_id": cid, "content": "hello", "conversation_id": "c1"}
        assert (await api.post("/api/chat", json=body, headers=alice.headers)).status_code == 201

    base = f"{prefix}{{{alice.id}:c1}}"
    with redis_cluster.node(redis_cluster.ports[0]) as node:
        slots = {
            node.execute_command("CLUSTER", "KEYSLOT", f"{base}:{part}")
            for part in CONVERSATION_KEYS
        }
    assert len(slots) == 1
    stored = redis_cluster.keys_in_slot(slots.pop())
    assert {f"{base}:msgs", f"{base}:meta"} <= stored


async def first_turns_at_once(cluster: LocalRedisCluster, prefix: str) -> Counter[str]:
    """Two fresh clients (two replicas' worth), whose first commands are 50 turns at once."""
    tenant, character = uuid4(), uuid4()
    outcomes: Counter[str] = Counter()
    async with redis_cache(cluster.url, prefix) as one, redis_cache(cluster.url, prefix) as two:

        async def turn(n: int) -> None:
            store = (one, two)[n % 2].conversations
            try:
                async with store.turn(tenant, "c", 600) as held:
                    await held.commit(character, a_turn(n))
            except Exception as exc:  # counted: the assertion shows which ones
                outcomes[f"{type(exc).__name__}: {exc}"] += 1
            else:
                outcomes["stored"] += 1

        await asyncio.gather(*(turn(n) for n in range(50)))
    return outcomes


async def test_fresh_cluster_clients_take_a_burst_of_first_turns(
    redis_cluster: LocalRedisCluster,
) -> None:
    prefix = f"fw-test-{uuid4().hex[:12]}:"
    for _ in range(3):  # the race is likely, not certain: three cold starts make it show
        assert await first_turns_at_once(redis_cluster, prefix) == {"stored": 50}


async def test_a_requests_budgets_in_two_slots_are_spent_all_or_nothing(
    redis_cluster: LocalRedisCluster,
) -> None:
    prefix = f"fw-test-{uuid4().hex[:12]}:"
    ip = RateCheck("ip:192.0.2.1", "all", RateLimit(count=5, period=60))
    chat = RateCheck(f"client:{uuid4()}", "chat", RateLimit(count=3, period=60))
    api = RateCheck(chat.owner, "api", RateLimit(count=3, period=60))
    async with redis_cache(redis_cluster.url, prefix) as cache:
        limiter = cache.rate_limiter
        assert isinstance(limiter, RedisRateLimiter)
        with redis_cluster.node(redis_cluster.ports[0]) as node:
            slots = [
                node.execute_command("CLUSTER", "KEYSLOT", limiter.key(c)) for c in (ip, chat, api)
            ]
        assert slots[0] != slots[1] == slots[2]  # one owner's budgets share a slot

        allowed = [await limiter.hit_all([ip, chat]) for _ in range(3)]
        assert [(d.allowed, d.limit, d.remaining) for d in allowed] == [
            (True, 3, 2),
            (True, 3, 1),
            (True, 3, 0),
        ]
        refused = [await limiter.hit_all([ip, chat]) for _ in range(5)]

        assert not any(d.allowed for d in refused)
        # The IP's slot spent on each refused request and was refunded: 3 of 5 are gone.
        alone = await limiter.hit_all([ip])
        assert (alone.allowed, alone.remaining) == (True, 1)
        assert (await limiter.hit_all([api])).remaining == 2
