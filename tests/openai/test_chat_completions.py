"""`/v1/chat/completions` with OpenAI's SDK: stateless and stateful, against a real server whose
model is the OpenAI-compatible stub."""

from __future__ import annotations

from typing import Any

import httpx
import openai
import pytest
from openai import AsyncOpenAI

from tests.openai.conftest import sdk_for
from tests.support.app import Tenant, make_character
from tests.support.openai_stub import OpenAIStub

HISTORY: list[Any] = [
    {"role": "system", "content": "Answer in one line."},
    {"role": "user", "content": "Hi"},
    {"role": "assistant", "content": "Ahoy"},
    {"role": "developer", "content": [{"type": "text", "text": "Be "}, {"type": "text", "text": "brief."}]},  # noqa: E501
    {"role": "user", "content": "Where is the gold?"},
]  # fmt: skip


def model_messages(stub: OpenAIStub) -> list[dict[str, Any]]:
    """What the model was sent, the last time."""
    messages: list[dict[str, Any]] = stub.requests_to("/v1/chat/completions")[-1].body["messages"]
    return messages


async def test_stateless_the_model_gets_prompt_knowledge_then_the_callers_messages(
    sdk: AsyncOpenAI, http: httpx.AsyncClient, alice: Tenant, openai_stub: OpenAIStub
) -> None:
    upsert = await http.post(
        "/api/vectors/upsert",
        json={"entity_type": "faq", "entity_id": "gold", "content": "The gold is on the island."},
        headers=alice.headers,
    )
    assert upsert.status_code == 201
    knowledge = {"entity_types": ["faq"], "top_k": 1, "min_score": -1}
    pirate = await make_character(http, alice, "You are a pirate.", knowledge=knowledge)
    openai_stub.set_usage(21, 5)

    completion = await sdk.chat.completions.create(
        model=pirate, messages=HISTORY, temperature=0.2, max_tokens=50, seed=7, logprobs=False
    )

    assert completion.object == "chat.completion"
    assert completion.id.startswith("chatcmpl-")
    assert completion.model == pirate
    [choice] = completion.choices
    assert choice.message.role == "assistant"
    assert choice.message.content == "stub reply to: Where is the gold?"
    assert choice.finish_reason == "stop"
    assert completion.usage is not None
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (21, 5)
    assert completion.usage.total_tokens == 26
    extension = (completion.model_extra or {})["fastwrap"]
    assert extension["conversation_id"] is None
    assert extension["expires_at"] is None
    assert [s["entity_id"] for s in extension["sources"]] == ["gold"]
    sent = model_messages(openai_stub)
    roles = ["system", "system", "system", "user", "assistant", "system", "user"]
    assert [m["role"] for m in sent] == roles
    assert sent[0]["content"] == "You are a pirate."
    assert "The gold is on the island." in sent[1]["content"]
    assert [m["content"] for m in sent[2:]] == [
        "Answer in one line.", "Hi", "Ahoy", "Be brief.", "Where is the gold?",
    ]  # fmt: skip


async def test_stateless_turns_store_nothing(
    sdk: AsyncOpenAI, http: httpx.AsyncClient, alice: Tenant, pirate: str
) -> None:
    completion = await sdk.chat.completions.create(
        model="Pirate", messages=[{"role": "user", "content": "Hello"}]
    )
    assert completion.model == pirate
    listed = await http.get("/api/conversations/anything", headers=alice.headers)
    assert listed.status_code == 404


async def test_stateful_only_the_last_message_is_new_and_history_comes_from_the_server(
    sdk: AsyncOpenAI, openai_stub: OpenAIStub, pirate: str
) -> None:
    first = await sdk.chat.completions.create(
        model=pirate,
        messages=[{"role": "user", "content": "My name is Ann."}],
        extra_body={"conversation": "voyage-1"},
    )
    assert (first.model_extra or {})["fastwrap"]["conversation_id"] == "voyage-1"

    ignored = [
        {"role": "system", "content": "IGNORED"},
        {"role": "assistant", "content": "IGNORED"},
    ]
    second = await sdk.chat.completions.create(
        model=pirate,
        messages=[*ignored, {"role": "user", "content": "What is my name?"}],  # type: ignore[list-item]
        extra_body={"conversation_id": "voyage-1"},
    )

    assert second.choices[0].message.content == "stub reply to: What is my name?"
    sent = model_messages(openai_stub)
    assert [(m["role"], m["content"]) for m in sent] == [
        ("system", "You are a pirate."),
        ("user", "My name is Ann."),
        ("assistant", "stub reply to: My name is Ann."),
        ("user", "What is my name?"),
    ]
    extension = (second.model_extra or {})["fastwrap"]
    assert extension["conversation_id"] == "voyage-1"
    assert extension["expires_at"].endswith("Z")


async def test_a_conversation_started_on_v1_continues_on_api_chat_and_back(
    sdk: AsyncOpenAI, http: httpx.AsyncClient, alice: Tenant, pirate: str, openai_stub: OpenAIStub
) -> None:
    await sdk.chat.completions.create(
        model=pirate,
        messages=[{"role": "user", "content": "one"}],
        extra_body={"conversation": {"id": "shared"}},
    )
    on_api = await http.post(
        "/api/chat",
        json={"character_id": pirate, "content": "two", "conversation_id": "shared"},
        headers=alice.headers,
    )
    assert on_api.status_code == 201, on_api.text
    await sdk.chat.completions.create(
        model=pirate,
        messages=[{"role": "user", "content": "three"}],
        extra_body={"conversation": "shared"},
    )

    stored = await http.get("/api/conversations/shared", headers=alice.headers)
    messages = stored.json()["data"]["messages"]
    assert [(m["role"], m["content"]) for m in messages] == [
        ("user", "one"), ("assistant", "stub reply to: one"),
        ("user", "two"), ("assistant", "stub reply to: two"),
        ("user", "three"), ("assistant", "stub reply to: three"),
    ]  # fmt: skip
    assert len(model_messages(openai_stub)) == 6  # prompt, 4 history messages, the new one


async def test_the_user_field_is_the_end_user_of_the_conversation(
    sdk: AsyncOpenAI, http: httpx.AsyncClient, alice: Tenant, pirate: str
) -> None:
    await sdk.chat.completions.create(
        model=pirate,
        messages=[{"role": "user", "content": "hi"}],
        user="player-7",
        extra_body={"conversation": "owned"},
    )
    stored = await http.get("/api/conversations/owned", headers=alice.headers)
    assert stored.json()["data"]["end_user"] == "player-7"


async def test_tenants_cannot_reach_each_others_characters_or_conversations(
    server: str, sdk: AsyncOpenAI, bob: Tenant, pirate: str, http: httpx.AsyncClient
) -> None:
    await sdk.chat.completions.create(
        model=pirate,
        messages=[{"role": "user", "content": "secret"}],
        extra_body={"conversation": "mine"},
    )
    bobs_pirate = await make_character(http, bob, "You are Bob's pirate.", name="Pirate")
    async with sdk_for(server, bob.key) as bobs:
        with pytest.raises(openai.NotFoundError) as raised:
            await bobs.chat.completions.create(
                model=pirate, messages=[{"role": "user", "content": "hi"}]
            )
        assert raised.value.code == "model_not_found"
        # Bob's own conversation of the same id is his, and starts empty.
        reply = await bobs.chat.completions.create(
            model="Pirate",
            messages=[{"role": "user", "content": "hi"}],
            extra_body={"conversation": "mine"},
        )
    assert reply.model == bobs_pirate
    theirs = await http.get("/api/conversations/mine", headers=bob.headers)
    assert [m["content"] for m in theirs.json()["data"]["messages"]] == ["hi", "stub reply to: hi"]


def output_cap(sent: dict[str, Any]) -> Any:
    """The output cap as the provider was asked for it (OpenAI now names it so)."""
    return sent.get("max_completion_tokens", sent.get("max_tokens"))


async def test_temperature_and_max_tokens_reach_the_model(
    sdk: AsyncOpenAI, pirate: str, openai_stub: OpenAIStub
) -> None:
    await sdk.chat.completions.create(
        model=pirate, messages=[{"role": "user", "content": "hi"}], temperature=0.3, max_tokens=40
    )
    sent = openai_stub.requests_to("/v1/chat/completions")[-1].body
    assert (sent["temperature"], output_cap(sent)) == (0.3, 40)
    await sdk.chat.completions.create(
        model=pirate,
        messages=[{"role": "user", "content": "hi"}],
        max_tokens=40,
        max_completion_tokens=12,
        extra_body={"conversation": "tuned"},
    )
    sent = openai_stub.requests_to("/v1/chat/completions")[-1].body
    assert output_cap(sent) == 12
    assert "temperature" not in sent or sent["temperature"] is None
