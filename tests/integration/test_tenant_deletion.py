"""A tenant deleted while its turns are in flight keeps nothing (issue 14, item 5; SPEC §8).

Over HTTP, on real PostgreSQL and Redis: six turns are held inside the model call (a gated
chat model put in the container), `DELETE /clients/me` answers 204, then the model answers.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import httpx
import pytest
import redis.asyncio as redis
from dependency_injector import providers

from fastwrap.container import make_container
from fastwrap.domain.model import (
    NO_OPTIONS,
    Caller,
    ChatDelta,
    ChatReply,
    ModelOptions,
    PromptMessage,
)
from fastwrap.ports.llm import ChatModel
from tests.support.app import app_client, hermetic_settings, make_character, sign_up

pytestmark = pytest.mark.integration

IN_FLIGHT = 6
WAIT_SECONDS = 10  # a bound for a broken test, not a timing the test relies on


class GatedModel(ChatModel):
    """Answers once the gate opens; `inside` is set when `expected` calls are waiting."""

    def __init__(self, expected: int) -> None:
        self._expected = expected
        self._waiting = 0
        self.inside = asyncio.Event()
        self.gate = asyncio.Event()

    async def _wait_for_the_gate(self) -> None:
        self._waiting += 1
        if self._waiting == self._expected:
            self.inside.set()
        await self.gate.wait()

    async def reply(
        self,
        messages: Sequence[PromptMessage],
        options: ModelOptions = NO_OPTIONS,
        caller: Caller | None = None,
    ) -> ChatReply:
        await self._wait_for_the_gate()
        return ChatReply(content="a reply that comes too late")

    async def stream(
        self,
        messages: Sequence[PromptMessage],
        options: ModelOptions = NO_OPTIONS,
        caller: Caller | None = None,
    ) -> AsyncIterator[ChatDelta]:
        await self._wait_for_the_gate()
        yield ChatDelta(content="a reply that comes too late")

    async def aclose(self) -> None:
        return None


async def conversation_keys(redis_url: str, namespace: str, tenant_id: str) -> dict[str, dict]:
    """Each of the tenant's conversation keys in Redis, with what it holds."""
    found: dict[str, dict] = {}
    async with redis.Redis.from_url(redis_url, decode_responses=True) as client:
        async for key in client.scan_iter(match=f"{namespace}{{{tenant_id}:*", count=500):
            kind = await client.type(key)
            if kind == "hash":
                found[key] = await client.hgetall(key)
            elif kind == "list":
                found[key] = {"messages": await client.llen(key)}
            else:
                found[key] = {"type": kind}
    return found


async def test_deleting_a_tenant_wins_against_its_turns_in_flight(
    pg_dsn: str, redis_url: str, redis_namespace: str
) -> None:
    settings = hermetic_settings(
        fastwrap_storage="postgres",
        database_url=pg_dsn,
        redis_url=redis_url,
        redis_key_prefix=redis_namespace,
    )
    model = GatedModel(expected=IN_FLIGHT)

    @asynccontextmanager
    async def gated() -> AsyncIterator[tuple[ChatModel, str]]:
        yield model, "gated"

    container = make_container(settings)
    container.chat_model.override(providers.Resource(gated))
    async with app_client(settings, container) as api:
        alice = await sign_up(api, "alice@example.com")
        cid = await make_character(api, alice)

        async def chat(n: int) -> httpx.Response:
            body = {"character_id": cid, "content": f"hello {n}", "conversation_id": f"c{n}"}
            if n == 0:
                body["stream"] = True  # a streamed turn ends in an error event instead
            return await api.post("/api/chat", json=body, headers=alice.headers)

        turns = [asyncio.create_task(chat(n)) for n in range(IN_FLIGHT)]
        async with asyncio.timeout(WAIT_SECONDS):
            await model.inside.wait()  # every turn holds its conversation, waiting for the model
        deleted = await api.delete("/clients/me", headers=alice.headers)
        model.gate.set()
        answers = await asyncio.gather(*turns)
        afterwards = await api.get("/api/conversations/c0", headers=alice.headers)

    left = await conversation_keys(redis_url, redis_namespace, alice.id)
    stored = {
        key: held for key, held in left.items() if held.get("messages") or "character" in held
    }
    assert stored == {}, "a deleted tenant's turns were stored"
    assert deleted.status_code == 204
    streamed, *plain = answers
    assert [a.status_code for a in plain] == [404] * (IN_FLIGHT - 1), plain[0].text
    assert {a.json()["detail"] for a in plain} == {"client not found"}
    assert "event: error" in streamed.text
    assert "client not found" in streamed.text
    assert "event: done" not in streamed.text
    assert afterwards.status_code == 401  # the key died with its tenant
