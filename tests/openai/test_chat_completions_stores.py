"""Stateful `/v1/chat/completions` on the real stores (PostgreSQL, Redis): the conversation is the
one `/api/chat` keeps, with its lock, TTL and 409s, and a stateless turn leaves no key behind."""

from __future__ import annotations

from typing import Any

import httpx
import openai
import pytest
import redis
from openai import AsyncOpenAI

from tests.support.app import Tenant, make_character
from tests.support.openai_stub import OpenAIStub

ASK: Any = [{"role": "user", "content": "hi"}]


@pytest.fixture
def app_overrides(pg_dsn: str, redis_url: str, redis_namespace: str) -> dict[str, Any]:
    return {
        "fastwrap_storage": "postgres",
        "database_url": pg_dsn,
        "redis_url": redis_url,
        "redis_key_prefix": redis_namespace,
        "conversation_lock_wait_seconds": 0.3,
    }


def keys(redis_url: str, namespace: str) -> list[str]:
    with redis.Redis.from_url(redis_url, decode_responses=True) as client:
        return sorted(client.scan_iter(match=f"{namespace}*"))


async def test_turns_alternate_between_the_apis_on_redis(
    sdk: AsyncOpenAI, http: httpx.AsyncClient, alice: Tenant, pirate: str, openai_stub: OpenAIStub
) -> None:
    await sdk.chat.completions.create(model=pirate, messages=ASK, extra_body={"conversation": "r1"})
    on_api = await http.post(
        "/api/chat",
        json={"character_id": pirate, "content": "again", "conversation_id": "r1"},
        headers=alice.headers,
    )
    assert on_api.status_code == 201
    stream = await sdk.chat.completions.create(
        model="Pirate",
        messages=[{"role": "user", "content": "third"}],
        stream=True,
        extra_body={"conversation": "r1"},
    )
    async for _ in stream:
        pass

    stored = (await http.get("/api/conversations/r1", headers=alice.headers)).json()["data"]
    assert [m["content"] for m in stored["messages"]] == [
        "hi", "stub reply to: hi", "again", "stub reply to: again", "third", "stub reply to: third",
    ]  # fmt: skip
    sent = openai_stub.requests_to("/v1/chat/completions")[-1].body["messages"]
    assert len(sent) == 6


async def test_stateless_turns_touch_no_conversation_key(
    sdk: AsyncOpenAI, pirate: str, redis_url: str, redis_namespace: str
) -> None:
    before = keys(redis_url, redis_namespace)
    await sdk.chat.completions.create(model=pirate, messages=ASK)
    stream = await sdk.chat.completions.create(model=pirate, messages=ASK, stream=True)
    async for _ in stream:
        pass
    assert keys(redis_url, redis_namespace) == before
    await sdk.chat.completions.create(model=pirate, messages=ASK, extra_body={"conversation": "k"})
    assert len(keys(redis_url, redis_namespace)) > len(before)  # a stored turn does leave keys


async def test_conflicts_on_redis(
    sdk: AsyncOpenAI, http: httpx.AsyncClient, alice: Tenant, pirate: str, openai_stub: OpenAIStub
) -> None:
    parrot = await make_character(http, alice, "You are a parrot.")
    await sdk.chat.completions.create(model=pirate, messages=ASK, extra_body={"conversation": "c"})
    with pytest.raises(openai.ConflictError) as mismatch:
        await sdk.chat.completions.create(
            model=parrot, messages=ASK, extra_body={"conversation": "c"}
        )
    assert mismatch.value.code == "conversation_character_mismatch"

    gate = openai_stub.hold_stream()
    body = {"model": pirate, "messages": ASK, "stream": True, "conversation": "c"}
    async with http.stream(
        "POST", "/v1/chat/completions", json=body, headers=alice.headers
    ) as first:
        lines = first.aiter_lines()
        while "stub" not in await anext(lines):
            pass
        with pytest.raises(openai.ConflictError) as busy:
            await sdk.chat.completions.create(
                model=pirate, messages=ASK, extra_body={"conversation": "c"}
            )
        gate.set()
        _ = [line async for line in lines]
    assert busy.value.code == "conversation_busy"
