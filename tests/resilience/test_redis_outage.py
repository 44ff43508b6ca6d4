"""Redis goes away under a running app (a TCP proxy in front of it is stopped) and comes back.

Chat needs Redis and says so with a 503 that stores nothing; every other route keeps working
(rate limits fail open by default); /health shows Redis down and recovers by itself. A Redis that
came back empty (a restart without persistence) means fresh conversations, never corrupted ones.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import redis

from tests.support.app import (
    STRONG_PASSWORD,
    Tenant,
    app_client,
    hermetic_settings,
    make_character,
    sign_up,
)
from tests.support.redis import TcpProxy

pytestmark = pytest.mark.integration

STORE_DOWN = "conversation store unavailable ("
RECOVERY_SECONDS = 10.0


@pytest.fixture
async def outage(
    redis_proxy: tuple[TcpProxy, str], redis_namespace: str, pg_dsn: str
) -> AsyncIterator[tuple[httpx.AsyncClient, TcpProxy]]:
    """The app on PostgreSQL, with Redis (conversations and rate limits) behind the proxy."""
    proxy, url = redis_proxy
    settings = hermetic_settings(
        fastwrap_storage="postgres",
        database_url=pg_dsn,
        redis_url=url,
        redis_key_prefix=redis_namespace,
        rate_limit_enabled=True,
    )
    async with app_client(settings) as api:
        yield api, proxy


async def chat(api: httpx.AsyncClient, tenant: Tenant, cid: str, text: str) -> httpx.Response:
    body = {"character_id": cid, "content": text, "conversation_id": "c1"}
    return await api.post("/api/chat", json=body, headers=tenant.headers)


async def messages(api: httpx.AsyncClient, tenant: Tenant) -> list[dict[str, Any]] | None:
    response = await api.get("/api/conversations/c1", headers=tenant.headers)
    if response.status_code == 404:
        return None
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["data"]["messages"]
    return found


async def healthy_again(api: httpx.AsyncClient) -> dict[str, Any]:
    """/health polled until 200: recovery is the app's own doing, nothing restarts it."""
    async with asyncio.timeout(RECOVERY_SECONDS):
        while (response := await api.get("/health")).status_code != 200:
            await asyncio.sleep(0.05)
    body: dict[str, Any] = response.json()
    return body


async def other_routes_work(api: httpx.AsyncClient, tenant: Tenant, cid: str) -> None:
    """Characters, vectors and clients need PostgreSQL only. Rotates `tenant`'s key."""
    h = tenant.headers
    created = await api.post("/api/characters", json={"agent_role": "Spare."}, headers=h)
    assert created.status_code == 201, created.text
    assert (await api.get("/api/characters", headers=h)).status_code == 200
    patched = await api.patch(f"/api/characters/{cid}", json={"name": "Long John"}, headers=h)
    assert patched.status_code == 200, patched.text
    snippet = {"entity_type": "doc", "entity_id": "d1", "content": "The map is under the palm."}
    assert (await api.post("/api/vectors/upsert", json=snippet, headers=h)).status_code == 201
    search = await api.post("/api/vectors/search", json={"query": "map palm"}, headers=h)
    assert search.status_code == 200
    assert [hit["entity_id"] for hit in search.json()["data"]] == ["d1"]
    newcomer = await sign_up(api, "newcomer@example.com")
    assert (await api.get("/api/characters", headers=newcomer.headers)).status_code == 200
    credentials = {"email": newcomer.email, "password": STRONG_PASSWORD}
    assert (await api.post("/auth/login", json=credentials)).status_code == 200
    rotated = await api.post("/clients/me/regenerate-key", headers=tenant.headers)
    assert rotated.status_code == 201
    tenant.key = rotated.json()["data"]["api_key"]


async def test_redis_down_is_503_for_chat_only_and_recovers_without_a_restart(
    outage: tuple[httpx.AsyncClient, TcpProxy],
) -> None:
    api, proxy = outage
    alice = await sign_up(api, "alice@example.com")
    cid = await make_character(api, alice)
    for text in ("first", "second"):
        assert (await chat(api, alice, cid, text)).status_code == 201

    await proxy.stop()
    started = time.perf_counter()
    refused = await chat(api, alice, cid, "lost in the outage")
    refused_ms = (time.perf_counter() - started) * 1000
    assert refused.status_code == 503
    assert refused.json()["error"] == "ServiceUnavailable"
    assert refused.json()["detail"].startswith(STORE_DOWN)
    assert (await api.get("/api/conversations/c1", headers=alice.headers)).status_code == 503
    await other_routes_work(api, alice, cid)
    down = await api.get("/health")
    assert down.status_code == 503
    assert down.json()["status"] == "degraded"
    assert down.json()["checks"]["redis"]["status"] == "down"
    assert down.json()["checks"]["redis"]["detail"]
    assert down.json()["checks"]["postgres"]["status"] == "ok"

    await proxy.start()
    started = time.perf_counter()
    assert (await healthy_again(api))["checks"]["redis"]["status"] == "ok"
    recovered_ms = (time.perf_counter() - started) * 1000
    assert (await chat(api, alice, cid, "third")).status_code == 201
    print(  # the figures the closing note of the issue reports (pytest -s)
        f"\nredis down: chat 503 in {refused_ms:.0f} ms ({refused.json()['detail']}); "
        f"/health 200 again {recovered_ms:.0f} ms after Redis returned"
    )
    history = await messages(api, alice)
    assert history is not None
    # Both turns acknowledged before the outage are intact; the refused one left nothing.
    assert [m["content"] for m in history if m["role"] == "user"] == ["first", "second", "third"]
    assert [m["role"] for m in history] == ["user", "assistant"] * 3


async def test_a_redis_that_returns_empty_means_a_fresh_conversation(
    outage: tuple[httpx.AsyncClient, TcpProxy], redis_url: str, redis_namespace: str
) -> None:
    api, proxy = outage
    alice = await sign_up(api, "alice@example.com")
    cid = await make_character(api, alice)
    assert (await chat(api, alice, cid, "before the restart")).status_code == 201

    await proxy.stop()
    # What a Redis restart without persistence does: every key of ours is gone.
    with redis.Redis.from_url(redis_url) as direct:
        for key in direct.scan_iter(match=f"{redis_namespace}*", count=500):
            direct.delete(key)
    await proxy.start()
    await healthy_again(api)

    assert await messages(api, alice) is None
    assert (await chat(api, alice, cid, "after the restart")).status_code == 201
    history = await messages(api, alice)
    assert history is not None
    assert [m["role"] for m in history] == ["user", "assistant"]
    assert history[0]["content"] == "after the restart"


async def test_rate_limits_can_fail_closed_while_redis_is_down(
    redis_proxy: tuple[TcpProxy, str], redis_namespace: str
) -> None:
    proxy, url = redis_proxy
    settings = hermetic_settings(
        redis_url=url,
        redis_key_prefix=redis_namespace,
        rate_limit_enabled=True,
        rate_limit_fail_open=False,
    )
    async with app_client(settings) as api:
        alice = await sign_up(api, "alice@example.com")
        await proxy.stop()
        refused = await api.get("/api/characters", headers=alice.headers)
        assert refused.status_code == 503
        assert refused.json()["detail"].startswith("rate limiter unavailable (")
        assert (await api.get("/health")).status_code == 503  # never rate limited itself

        await proxy.start()
        await healthy_again(api)
        assert (await api.get("/api/characters", headers=alice.headers)).status_code == 200


async def test_deleting_a_client_while_redis_is_down_answers_the_truth(
    outage: tuple[httpx.AsyncClient, TcpProxy],
) -> None:
    api, proxy = outage
    alice = await sign_up(api, "alice@example.com")
    cid = await make_character(api, alice)
    assert (await chat(api, alice, cid, "hello")).status_code == 201

    await proxy.stop()
    deleted = await api.delete("/clients/me", headers=alice.headers)
    still_there = (await api.get("/api/characters", headers=alice.headers)).status_code == 200
    # Either the deletion is acknowledged and done, or refused and not done: a 503 must not
    # hide a committed deletion (the caller would retry and get a 401).
    assert (deleted.status_code, still_there) in {(204, False), (503, True)}, deleted.text
