"""`/v1/responses` and `/v1/conversations` on the real stores (PostgreSQL, Redis): chains, forks,
deletes and store=false through Redis; a response's end user and model options."""

from __future__ import annotations

from typing import Any

import httpx
import openai
import pytest
import redis
from openai import AsyncOpenAI

from tests.support.app import Tenant
from tests.support.openai_stub import OpenAIStub


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


async def texts(sdk: AsyncOpenAI, conversation_id: str) -> list[str]:
    found = [i async for i in sdk.conversations.items.list(conversation_id, order="asc")]
    return [i.content[0].text for i in found]  # type: ignore[union-attr]


async def test_chains_forks_and_deletes_on_redis(
    sdk: AsyncOpenAI, http: httpx.AsyncClient, alice: Tenant, pirate: str
) -> None:
    created = await sdk.conversations.create(
        metadata={"topic": "gold"}, items=[{"role": "user", "content": "I seek gold"}]
    )
    first = await sdk.responses.create(model=pirate, input="Where?", conversation=created.id)
    second = await sdk.responses.create(model=pirate, input="When?", previous_response_id=first.id)
    fork = await sdk.responses.create(model=pirate, input="Who?", previous_response_id=first.id)
    assert fork.conversation is not None
    assert fork.conversation.id != created.id

    await sdk.responses.delete(second.id)

    assert await texts(sdk, created.id) == ["I seek gold", "Where?", "stub reply to: Where?"]
    assert await texts(sdk, fork.conversation.id) == [
        "I seek gold", "Where?", "stub reply to: Where?", "Who?", "stub reply to: Who?",
    ]  # fmt: skip
    assert (await sdk.conversations.retrieve(created.id)).metadata == {"topic": "gold"}
    chat_view = await http.get(f"/api/conversations/{created.id}", headers=alice.headers)
    assert chat_view.json()["data"]["character_id"] == pirate
    with pytest.raises(openai.NotFoundError):
        await sdk.responses.retrieve(second.id)


async def test_an_unstored_response_leaves_no_key(
    sdk: AsyncOpenAI, pirate: str, redis_url: str, redis_namespace: str
) -> None:
    before = keys(redis_url, redis_namespace)
    await sdk.responses.create(model=pirate, input="Ahoy", store=False)
    async with sdk.responses.stream(model=pirate, input="Ahoy", store=False) as stream:
        final = await stream.get_final_response()

    assert final.conversation is None
    assert keys(redis_url, redis_namespace) == before


async def test_a_response_for_an_end_user_is_continued_only_for_them(
    sdk: AsyncOpenAI, pirate: str
) -> None:
    first = await sdk.responses.create(model=pirate, input="Ahoy", user="alice-123")
    assert first.user == "alice-123"

    with pytest.raises(openai.ConflictError) as raised:
        await sdk.responses.create(
            model=pirate, input="Mine now", previous_response_id=first.id, user="mallory"
        )
    again = await sdk.responses.create(
        model=pirate, input="Again", previous_response_id=first.id, user="alice-123"
    )

    assert raised.value.code == "conversation_end_user_mismatch"  # type: ignore[attr-defined]
    assert again.conversation == first.conversation
    with pytest.raises(openai.BadRequestError):
        await sdk.responses.create(model=pirate, input="x", user="not a valid id!")


async def test_temperature_and_output_cap_reach_the_model(
    sdk: AsyncOpenAI, pirate: str, openai_stub: OpenAIStub
) -> None:
    response = await sdk.responses.create(
        model=pirate, input="Ahoy", temperature=0.25, max_output_tokens=42
    )

    body = openai_stub.requests_to("/v1/chat/completions")[-1].body
    assert body["temperature"] == 0.25
    assert 42 in (body.get("max_tokens"), body.get("max_completion_tokens"))
    assert (response.temperature, response.max_output_tokens) == (0.25, 42)
    with pytest.raises(openai.BadRequestError) as raised:
        await sdk.responses.create(model=pirate, input="x", temperature=3)
    assert raised.value.param == "temperature"  # type: ignore[attr-defined]
