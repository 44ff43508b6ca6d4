"""The Redis cache against a real Redis: faults, recovery, replicas sharing it, real time."""

from __future__ import annotations

import asyncio
import secrets
import socket
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime
from urllib.parse import quote, urlsplit, urlunsplit
from uuid import UUID, uuid4

import pytest
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from fastwrap.adapters.bundles import LiveState
from fastwrap.adapters.clock import SystemClock
from fastwrap.adapters.redis.client import Timeouts
from fastwrap.adapters.redis.live_state import open_redis_live_state
from fastwrap.domain.errors import Busy, ConfigurationError, Conflict, Unavailable
from fastwrap.domain.model import Message, RateLimit
from fastwrap.domain.rate_limits import RateCheck
from fastwrap.ports.conversations import ConversationStore
from tests.support.redis import TcpProxy, with_address

pytestmark = pytest.mark.integration


def cache(
    url: str, namespace: str = "fw:", *, lock_wait: float = 0.5, lock_ttl: float = 5.0
) -> AbstractAsyncContextManager[LiveState]:
    return open_redis_live_state(
        url,
        clock=SystemClock(),
        lock_wait_seconds=lock_wait,
        lock_ttl_seconds=lock_ttl,
        max_messages=100,
        timeouts=Timeouts(connect_seconds=0.5, command_seconds=0.5, retries=1),
        key_prefix=namespace,
    )


def a_turn(n: int = 1) -> tuple[Message, Message]:
    now = datetime.now(UTC)
    return (
        Message(role="user", content=f"q{n}", created_at=now),
        Message(role="assistant", content=f"a{n}", created_at=now),
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def store_turn(
    store: ConversationStore,
    tenant: UUID,
    conversation: str,
    character: UUID,
    turn: tuple[Message, Message],
    ttl: int = 60,
) -> datetime:
    async with store.turn(tenant, conversation, ttl) as held:
        return await held.commit(character, turn)


async def stored(cache: LiveState, tenant: UUID, conversation: str) -> int:
    found = await cache.conversations.get(tenant, conversation)
    return 0 if found is None else len(found.messages)


@pytest.fixture
async def replicas(
    redis_url: str, redis_namespace: str
) -> AsyncIterator[tuple[LiveState, LiveState]]:
    """Two processes' worth of clients on one Redis."""
    async with cache(redis_url, redis_namespace) as one, cache(redis_url, redis_namespace) as two:
        yield one, two


async def test_nothing_listening_is_unavailable_and_health_says_why(redis_url: str) -> None:
    url = with_address(redis_url, "127.0.0.1", free_port())
    tenant = uuid4()
    async with cache(url) as down:
        store = down.conversations
        calls = (
            lambda: store.get(tenant, "c"),
            lambda: store_turn(store, tenant, "c", uuid4(), a_turn()),
            lambda: store.delete(tenant, "c"),
            lambda: store.delete_all(tenant),
        )
        for call in calls:
            with pytest.raises(Unavailable, match=r"^conversation store unavailable \("):
                await call()
        with pytest.raises(Unavailable):
            async with store.turn(tenant, "c", 60):
                pytest.fail("a lock was had without Redis")
        with pytest.raises(Unavailable, match=r"^rate limiter unavailable \("):
            await down.rate_limiter.hit_all([RateCheck("k", "t", RateLimit(count=1, period=1))])

        health = await down.health.check()
    assert (health.ok, health.adapter) == (False, "redis")
    assert health.detail


async def test_a_malformed_url_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="REDIS_URL") as caught:
        async with cache("http://user:s3cret@example.com"):
            pass
    assert "s3cret" not in str(caught.value)


def with_user(url: str, user: str, password: str) -> str:
    parts = urlsplit(url)
    address = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{quote(user)}:{quote(password)}@{address}"))


@pytest.fixture
async def acl_user(redis_url: str) -> AsyncIterator[tuple[str, str]]:
    """A throwaway ACL user (name, password), removed again after the test."""
    name, password = f"fastwrap-test-{uuid4().hex[:8]}", secrets.token_urlsafe(12)
    admin = Redis.from_url(redis_url)
    try:
        await admin.acl_setuser(
            name, enabled=True, passwords=[f"+{password}"], keys=["*"], categories=["+@all"]
        )
    except ResponseError as exc:
        await admin.aclose()
        pytest.skip(f"this Redis does not let tests create ACL users: {exc}")
    try:
        yield name, password
    finally:
        await admin.acl_deluser(name)
        await admin.aclose()


async def test_an_acl_user_and_password_in_the_url(
    redis_url: str, redis_namespace: str, acl_user: tuple[str, str]
) -> None:
    name, password = acl_user
    tenant, character = uuid4(), uuid4()
    async with cache(with_user(redis_url, name, password), redis_namespace) as allowed:
        assert (await allowed.health.check()).ok
        await store_turn(allowed.conversations, tenant, "c", character, a_turn())
        assert await stored(allowed, tenant, "c") == 2

    async with cache(with_user(redis_url, name, "not-" + password), redis_namespace) as refused:
        health = await refused.health.check()
        with pytest.raises(Unavailable) as caught:
            await refused.conversations.get(tenant, "c")
    assert not health.ok
    assert password not in f"{health.detail} {caught.value}"


async def test_health_and_the_store_recover_when_redis_returns(
    redis_proxy: tuple[TcpProxy, str], redis_namespace: str
) -> None:
    proxy, url = redis_proxy
    tenant, character = uuid4(), uuid4()
    async with cache(url, redis_namespace) as redis_cache:
        assert (await redis_cache.health.check()).ok
        await store_turn(redis_cache.conversations, tenant, "c", character, a_turn(1))

        await proxy.stop()
        assert not (await redis_cache.health.check()).ok
        with pytest.raises(Unavailable):
            await store_turn(redis_cache.conversations, tenant, "c", character, a_turn(2))

        await proxy.start()  # same port: the client was never told anything
        assert (await redis_cache.health.check()).ok
        assert await stored(redis_cache, tenant, "c") == 2  # the failed turn left nothing

        async with redis_cache.conversations.turn(tenant, "c", 60) as held:
            await proxy.stop()  # Redis goes away while the model answers
            with pytest.raises(Unavailable):
                await held.commit(character, a_turn(3))
            await proxy.start()  # back before the turn ends, which gives the lock back
        assert await stored(redis_cache, tenant, "c") == 2  # nothing half-stored
        await store_turn(redis_cache.conversations, tenant, "c", character, a_turn(4))  # not Busy
        assert await stored(redis_cache, tenant, "c") == 4


async def test_replicas_share_conversations(replicas: tuple[LiveState, LiveState]) -> None:
    one, two = replicas
    tenant, character = uuid4(), uuid4()

    await store_turn(one.conversations, tenant, "c", character, a_turn(1))
    await store_turn(two.conversations, tenant, "c", character, a_turn(2))

    assert await stored(one, tenant, "c") == 4
    with pytest.raises(Conflict):
        await store_turn(one.conversations, tenant, "c", uuid4(), a_turn(3))
    await two.conversations.delete_all(tenant)
    assert await stored(one, tenant, "c") == 0


async def test_replicas_share_a_rate_budget(replicas: tuple[LiveState, LiveState]) -> None:
    one, two = replicas
    limit = RateLimit(count=3, period=3600)

    budget = [RateCheck("shared", "t", limit)]
    decisions = [await replica.rate_limiter.hit_all(budget) for replica in (one, two, one)]
    assert [d.remaining for d in decisions] == [2, 1, 0]
    assert not (await two.rate_limiter.hit_all(budget)).allowed


async def exchanges_reach(proxy: TcpProxy, count: int) -> None:
    """Wait until `count` request/reply exchanges have gone through the proxy."""
    async with asyncio.timeout(10):
        while proxy.round_trips < count:
            await asyncio.sleep(0.001)


async def test_a_lock_held_by_one_replica_makes_the_other_wait(
    redis_url: str, redis_namespace: str, redis_proxy: tuple[TcpProxy, str]
) -> None:
    proxy, proxied_url = redis_proxy
    tenant = uuid4()
    order: list[str] = []
    async with (
        cache(redis_url, redis_namespace) as one,
        cache(proxied_url, redis_namespace, lock_wait=10) as two,  # patient, however loaded
    ):
        assert await two.conversations.get(tenant, "other") is None  # its connection is made

        async def second() -> None:
            async with two.conversations.turn(tenant, "c", 60):
                order.append("two")

        async with one.conversations.turn(tenant, "c", 60):
            tried = proxy.round_trips
            waiting = asyncio.create_task(second())
            # A second exchange starts only once the first was answered: refused, it retries.
            await exchanges_reach(proxy, tried + 2)
            assert not waiting.done()
            order.append("one")
        await waiting
        assert order == ["one", "two"]

        async with (
            cache(redis_url, redis_namespace, lock_wait=0.2) as impatient,
            one.conversations.turn(tenant, "c", 60),
        ):
            with pytest.raises(Busy):
                async with impatient.conversations.turn(tenant, "c", 60):
                    pytest.fail("both replicas held the lock")


async def test_a_lock_outlives_its_ttl_while_held(redis_url: str, redis_namespace: str) -> None:
    async with (
        cache(redis_url, redis_namespace, lock_ttl=0.3) as one,
        cache(redis_url, redis_namespace, lock_wait=0.2) as two,
    ):
        tenant = uuid4()
        async with one.conversations.turn(tenant, "c", 60):
            await asyncio.sleep(0.5)  # longer than the TTL: the holder keeps extending it
            with pytest.raises(Busy):
                async with two.conversations.turn(tenant, "c", 60):
                    pytest.fail("a live holder lost its lock")


async def test_a_vanished_holder_cannot_block_forever(
    redis_url: str, redis_namespace: str, redis_proxy: tuple[TcpProxy, str]
) -> None:
    proxy, proxied_url = redis_proxy
    tenant = uuid4()
    async with (
        cache(proxied_url, redis_namespace, lock_ttl=0.3) as lost,
        cache(redis_url, redis_namespace, lock_wait=2) as live,
    ):
        held = lost.conversations.turn(tenant, "c", 60)
        await held.__aenter__()
        await proxy.stop()  # the holder can neither extend nor release any more

        async with live.conversations.turn(tenant, "c", 60):
            pass  # had once the TTL ran out
        with pytest.raises(Unavailable):
            # Cut off, the holder cannot even look at the conversation it held.
            await lost.conversations.get(tenant, "c")
        await held.__aexit__(None, None, None)  # logs a warning, raises nothing


async def test_a_conversation_really_expires(redis_url: str, redis_namespace: str) -> None:
    tenant = uuid4()
    async with cache(redis_url, redis_namespace) as redis_cache:
        store = redis_cache.conversations
        await store_turn(store, tenant, "c", uuid4(), a_turn(), ttl=1)
        async with asyncio.timeout(10):  # real time: a second of TTL, however loaded we are
            while await store.get(tenant, "c") is not None:
                await asyncio.sleep(0.05)


async def test_a_budget_really_refills(redis_url: str, redis_namespace: str) -> None:
    limit = RateLimit(count=2, period=0.2)  # one request every 100 ms
    async with cache(redis_url, redis_namespace) as redis_cache:
        budget = [RateCheck("k", "t", limit)]
        hit = redis_cache.rate_limiter.hit_all
        assert (await hit(budget)).allowed
        assert (await hit(budget)).allowed
        refused = await hit(budget)
        assert not refused.allowed
        assert 0 < refused.retry_after <= 0.1

        await asyncio.sleep(refused.retry_after + 0.01)
        assert (await hit(budget)).allowed
