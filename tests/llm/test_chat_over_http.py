"""The whole chat path against a real OpenAI-compatible server over HTTP (issue 5).

The app runs with MODEL_BASE_URL/EMBEDDING_BASE_URL pointing at the test stub, so requests go
through the real langchain-openai and openai clients and over real sockets.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import httpx
import pytest

from tests.support.app import (
    Tenant,
    app_client,
    hermetic_settings,
    live_client,
    make_character,
    sign_up,
)
from tests.support.openai_stub import OpenAIStub


@pytest.fixture
async def api(openai_stub: OpenAIStub) -> AsyncIterator[httpx.AsyncClient]:
    settings = hermetic_settings(
        model="gpt-4o-mini",
        model_key="sk-test-secret-key-123",
        model_base_url=openai_stub.base_url,
        model_timeout_seconds=1.0,
        model_max_retries=0,
        embedding_key="sk-test-secret-key-123",
        embedding_base_url=openai_stub.base_url,
    )
    async with app_client(settings) as client:
        yield client


@pytest.fixture
async def alice(api: httpx.AsyncClient) -> Tenant:
    return await sign_up(api, "alice@example.com")


async def turn(api: httpx.AsyncClient, tenant: Tenant, cid: str, text: str) -> httpx.Response:
    body = {"character_id": cid, "content": text, "conversation_id": "c1"}
    return await api.post("/api/chat", json=body, headers=tenant.headers)


async def history(api: httpx.AsyncClient, tenant: Tenant) -> list[dict[str, str]]:
    response = await api.get("/api/conversations/c1", headers=tenant.headers)
    if response.status_code == 404:
        return []
    messages: list[dict[str, str]] = response.json()["data"]["messages"]
    return messages


async def test_model_sees_prompt_knowledge_history_then_message(
    api: httpx.AsyncClient, alice: Tenant, openai_stub: OpenAIStub
) -> None:
    upsert = await api.post(
        "/api/vectors/upsert",
        json={"entity_type": "faq", "entity_id": "ship", "content": "Orders ship in two days."},
        headers=alice.headers,
    )
    assert upsert.status_code == 201
    cid = await make_character(
        api,
        alice,
        "You are a shop clerk.",
        knowledge={"entity_types": ["faq"], "top_k": 1, "min_score": -1},
    )
    first = await turn(api, alice, cid, "hello")
    assert first.status_code == 201
    openai_stub.set_usage(11, 7)
    second = await turn(api, alice, cid, "when do orders ship?")
    data = second.json()["data"]
    assert data["reply"]["content"] == "stub reply to: when do orders ship?"
    assert data["usage"] == {"input_tokens": 11, "output_tokens": 7}
    assert [s["entity_id"] for s in data["sources"]] == ["ship"]

    sent = openai_stub.requests_to("/v1/chat/completions")[-1].body["messages"]
    assert [m["role"] for m in sent] == ["system", "system", "user", "assistant", "user"]
    assert sent[0]["content"] == "You are a shop clerk."
    assert "Orders ship in two days." in sent[1]["content"]
    assert [sent[2]["content"], sent[4]["content"]] == ["hello", "when do orders ship?"]
    assert len(openai_stub.requests_to("/v1/embeddings")) == 3  # upsert + one per turn


async def test_provider_error_is_502_and_changes_nothing(
    api: httpx.AsyncClient, alice: Tenant, openai_stub: OpenAIStub
) -> None:
    cid = await make_character(api, alice)
    assert (await turn(api, alice, cid, "one")).status_code == 201
    before = await history(api, alice)
    openai_stub.set_failure(500, "the model is on fire")
    failed = await turn(api, alice, cid, "two")
    assert failed.status_code == 502
    assert failed.json()["error"] == "UpstreamError"
    assert "sk-test-secret-key-123" not in failed.text
    assert await history(api, alice) == before


async def test_slow_provider_is_504_and_changes_nothing(
    api: httpx.AsyncClient, alice: Tenant, openai_stub: OpenAIStub
) -> None:
    cid = await make_character(api, alice)
    openai_stub.set_delay(3.0)
    slow = await turn(api, alice, cid, "anyone there?")
    assert slow.status_code == 504
    assert slow.json()["error"] == "UpstreamTimeout"
    assert await history(api, alice) == []


@pytest.fixture
async def live(openai_stub: OpenAIStub) -> AsyncIterator[httpx.AsyncClient]:
    settings = hermetic_settings(
        model="gpt-4o-mini",
        model_key="sk-x",
        model_base_url=openai_stub.base_url,
        model_max_retries=0,
    )
    async with live_client(settings) as client:
        yield client


async def test_stream_is_incremental_and_stored_once(
    live: httpx.AsyncClient, openai_stub: OpenAIStub
) -> None:
    api = live
    alice = await sign_up(api, "alice@example.com")
    cid = await make_character(api, alice)
    gate = openai_stub.hold_stream()
    body = {
        "character_id": cid,
        "content": "tell me a story",
        "conversation_id": "c1",
        "stream": True,
    }
    async with api.stream("POST", "/api/chat", json=body, headers=alice.headers) as response:
        assert response.status_code == 201
        lines = response.aiter_lines()
        first = [await anext(lines), await anext(lines)]
        # The first delta is here while the stub is still holding the rest of the reply.
        assert first[0] == "event: delta"
        assert not openai_stub.stream_finished.is_set()
        gate.set()
        rest = [line async for line in lines]
    frames = "\n".join(first + rest)
    assert frames.count("event: done") == 1
    done = json.loads(frames.split("event: done\ndata: ")[1].split("\n")[0])
    assert done["reply"]["content"] == "stub reply to: tell me a story"
    assert [m["role"] for m in await history(api, alice)] == ["user", "assistant"]


async def test_stream_failure_is_an_error_frame_and_stores_nothing(
    api: httpx.AsyncClient, alice: Tenant, openai_stub: OpenAIStub
) -> None:
    cid = await make_character(api, alice)
    openai_stub.set_failure(500, "broken")
    body = {"character_id": cid, "content": "hi", "conversation_id": "c1", "stream": True}
    response = await api.post("/api/chat", json=body, headers=alice.headers)
    assert "event: error" in response.text
    assert "event: done" not in response.text
    assert await history(api, alice) == []


async def test_embedding_failure_is_502_never_an_empty_result(
    api: httpx.AsyncClient, alice: Tenant, openai_stub: OpenAIStub
) -> None:
    openai_stub.set_failure(503, "embeddings down")
    search = await api.post("/api/vectors/search", json={"query": "x"}, headers=alice.headers)
    assert search.status_code == 502
    upsert = await api.post(
        "/api/vectors/upsert",
        json={"entity_type": "faq", "entity_id": "a", "content": "text"},
        headers=alice.headers,
    )
    assert upsert.status_code == 502


async def test_health_names_the_real_providers(api: httpx.AsyncClient) -> None:
    checks = (await api.get("/health")).json()["checks"]
    assert checks["llm"]["adapter"] == "openai:gpt-4o-mini"
    assert checks["embeddings"]["adapter"].startswith("openai:")


async def test_client_disconnect_mid_stream_stores_nothing(
    live: httpx.AsyncClient, openai_stub: OpenAIStub
) -> None:
    tenant = await sign_up(live, "gone@example.com")
    cid = await make_character(live, tenant)
    gate = openai_stub.hold_stream()
    body = {"character_id": cid, "content": "long story", "conversation_id": "c1", "stream": True}
    async with live.stream("POST", "/api/chat", json=body, headers=tenant.headers) as response:
        assert await anext(response.aiter_lines()) == "event: delta"
    # The client has gone: the upstream call is abandoned rather than finished.
    assert await asyncio.to_thread(openai_stub.stream_abandoned.wait, 5)
    gate.set()
    assert not openai_stub.stream_finished.is_set()
    assert await history(live, tenant) == []
