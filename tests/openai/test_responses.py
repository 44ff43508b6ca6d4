"""`/v1/responses` with OpenAI's SDK against a real FastWrap (its model the stub): answers,
chains and forks, streams, retrieve/delete/input_items, store=false, errors and tenants."""

from __future__ import annotations

from typing import Any

import httpx
import openai
import pytest
from openai import AsyncOpenAI

from tests.openai.conftest import sdk_for
from tests.support.app import Tenant, make_character
from tests.support.openai_stub import OpenAIStub


def sent(stub: OpenAIStub) -> list[tuple[str, str]]:
    """The messages FastWrap's last model call sent, as (role, content)."""
    body = stub.requests_to("/v1/chat/completions")[-1].body
    return [(m["role"], m["content"]) for m in body["messages"]]


async def stored(http: httpx.AsyncClient, tenant: Tenant, conversation_id: str) -> list[str]:
    """A conversation's messages as `/api/conversations` shows them."""
    answer = await http.get(
        f"/api/conversations/{conversation_id}", headers={"x-api-key": tenant.key}
    )
    assert answer.status_code == 200, answer.text
    return [m["content"] for m in answer.json()["data"]["messages"]]


async def test_a_response_answers_as_the_character_and_starts_a_conversation(
    sdk: AsyncOpenAI, http: httpx.AsyncClient, alice: Tenant, pirate: str, openai_stub: OpenAIStub
) -> None:
    openai_stub.set_usage(12, 5)
    response = await sdk.responses.create(model="Pirate", input="Ahoy")

    assert response.output_text == "stub reply to: Ahoy"
    assert response.id.startswith("resp_")
    assert (response.object, response.status, response.model) == ("response", "completed", "Pirate")
    assert response.output[0].type == "message"
    assert response.usage is not None
    assert (response.usage.input_tokens, response.usage.output_tokens) == (12, 5)
    assert response.usage.total_tokens == 17
    assert response.conversation is not None
    extension: dict[str, Any] = (response.model_extra or {})["fastwrap"]
    assert extension["conversation_id"] == response.conversation.id
    assert extension["expires_at"]
    assert extension["sources"] == []
    assert sent(openai_stub) == [("system", "You are a pirate."), ("user", "Ahoy")]
    assert await stored(http, alice, response.conversation.id) == ["Ahoy", "stub reply to: Ahoy"]


async def test_responses_chain_and_fork(
    sdk: AsyncOpenAI, http: httpx.AsyncClient, alice: Tenant, pirate: str, openai_stub: OpenAIStub
) -> None:
    first = await sdk.responses.create(model=pirate, input="Ahoy")
    second = await sdk.responses.create(model=pirate, input="Map?", previous_response_id=first.id)
    assert first.conversation is not None
    assert second.conversation is not None
    assert second.conversation.id == first.conversation.id
    assert second.previous_response_id == first.id
    assert sent(openai_stub)[1:] == [
        ("user", "Ahoy"),
        ("assistant", "stub reply to: Ahoy"),
        ("user", "Map?"),
    ]

    fork = await sdk.responses.create(model=pirate, input="Ship?", previous_response_id=first.id)

    assert fork.conversation is not None
    assert fork.conversation.id != first.conversation.id
    assert sent(openai_stub)[1:] == [
        ("user", "Ahoy"),
        ("assistant", "stub reply to: Ahoy"),
        ("user", "Ship?"),
    ]
    assert await stored(http, alice, first.conversation.id) == [
        "Ahoy", "stub reply to: Ahoy", "Map?", "stub reply to: Map?",
    ]  # fmt: skip
    assert await stored(http, alice, fork.conversation.id) == [
        "Ahoy", "stub reply to: Ahoy", "Ship?", "stub reply to: Ship?",
    ]  # fmt: skip


async def test_instructions_are_for_one_response(
    sdk: AsyncOpenAI, pirate: str, openai_stub: OpenAIStub
) -> None:
    first = await sdk.responses.create(model=pirate, input="Ahoy", instructions="Be brief.")
    assert sent(openai_stub)[:2] == [("system", "You are a pirate."), ("system", "Be brief.")]
    assert first.instructions == "Be brief."

    await sdk.responses.create(model=pirate, input="More", previous_response_id=first.id)

    assert ("system", "Be brief.") not in sent(openai_stub)


async def test_a_stream_is_assembled_by_the_sdk_and_stored(
    sdk: AsyncOpenAI, pirate: str, openai_stub: OpenAIStub
) -> None:
    openai_stub.set_reply("Arr, the gold is buried")
    async with sdk.responses.stream(model=pirate, input="Gold?", metadata={"k": "v"}) as stream:
        seen = [event async for event in stream]
        final = await stream.get_final_response()

    types = [e.type for e in seen]
    assert types[:4] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
    ]
    assert types[-4:] == [
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert set(types[4:-4]) == {"response.output_text.delta"}
    numbers = [e.sequence_number for e in seen]
    assert numbers == sorted(numbers) == list(range(len(seen)))
    assert final.output_text == "Arr, the gold is buried"
    assert final.metadata == {"k": "v"}
    found = await sdk.responses.retrieve(final.id)
    assert (found.id, found.output_text, found.metadata) == (
        final.id,
        final.output_text,
        {"k": "v"},
    )


async def test_a_raw_stream_has_the_same_events(sdk: AsyncOpenAI, pirate: str) -> None:
    stream = await sdk.responses.create(model=pirate, input="Ahoy", stream=True)
    events = [event async for event in stream]

    assert events[0].type == "response.created"
    assert events[-1].type == "response.completed"
    assert events[-1].response.output_text == "stub reply to: Ahoy"  # type: ignore[union-attr]


async def test_retrieve_input_items_and_delete(sdk: AsyncOpenAI, pirate: str) -> None:
    first = await sdk.responses.create(model=pirate, input="Ahoy")
    second = await sdk.responses.create(
        model=pirate,
        input=[
            {"role": "user", "content": "Q1"},
            {"role": "assistant", "content": [{"type": "output_text", "text": "A1"}]},
            {"role": "user", "content": [{"type": "input_text", "text": "Q2"}]},
        ],
        previous_response_id=first.id,
    )

    found = await sdk.responses.retrieve(second.id)
    items = [item async for item in sdk.responses.input_items.list(second.id, order="asc")]

    assert (found.output_text, found.previous_response_id) == ("stub reply to: Q2", first.id)
    assert [(i.role, i.content[0].text) for i in items] == [  # type: ignore[union-attr]
        ("user", "Q1"),
        ("assistant", "A1"),
        ("user", "Q2"),
    ]
    await sdk.responses.delete(second.id)
    with pytest.raises(openai.NotFoundError):
        await sdk.responses.retrieve(second.id)
    with pytest.raises(openai.NotFoundError):
        await sdk.responses.input_items.list(second.id)
    assert (await sdk.responses.retrieve(first.id)).output_text == "stub reply to: Ahoy"


async def test_store_false_stores_nothing_and_cannot_be_chained(
    sdk: AsyncOpenAI, pirate: str, openai_stub: OpenAIStub
) -> None:
    first = await sdk.responses.create(model=pirate, input="Ahoy")
    assert first.conversation is not None
    loose = await sdk.responses.create(model=pirate, input="Hi", store=False)
    peek = await sdk.responses.create(
        model=pirate, input="And?", previous_response_id=first.id, store=False
    )

    assert loose.conversation is None
    assert loose.output_text == "stub reply to: Hi"
    assert ("user", "Ahoy") in sent(openai_stub)  # the unstored turn read the history
    assert peek.conversation is not None
    items = [i async for i in sdk.conversations.items.list(first.conversation.id)]
    assert len(items) == 2  # neither unstored turn added to it
    with pytest.raises(openai.BadRequestError) as raised:
        await sdk.responses.create(model=pirate, input="More", previous_response_id=loose.id)
    assert raised.value.param == "previous_response_id"  # type: ignore[attr-defined]
    with pytest.raises(openai.NotFoundError):
        await sdk.responses.retrieve(loose.id)


async def test_refusals_are_openai_errors_and_store_nothing(
    sdk: AsyncOpenAI, http: httpx.AsyncClient, alice: Tenant, pirate: str
) -> None:
    first = await sdk.responses.create(model=pirate, input="Ahoy")
    assert first.conversation is not None
    other = await make_character(http, alice, "You are a parrot.", name="Parrot")

    with pytest.raises(openai.BadRequestError) as both:
        await sdk.responses.create(
            model=pirate, input="x", previous_response_id=first.id,
            conversation=first.conversation.id,
        )  # fmt: skip
    with pytest.raises(openai.NotFoundError) as unknown_model:
        await sdk.responses.create(model="Nobody", input="x")
    with pytest.raises(openai.NotFoundError):
        await sdk.responses.create(model=pirate, input="x", previous_response_id="resp_bogus")
    with pytest.raises(openai.ConflictError) as mismatch:
        await sdk.responses.create(model=other, input="x", previous_response_id=first.id)
    with pytest.raises(openai.BadRequestError) as tools:
        await sdk.responses.create(
            model=pirate,
            input="x",
            tools=[{"type": "function", "name": "f", "parameters": {}}],  # type: ignore[list-item]
        )
    with pytest.raises(openai.BadRequestError) as image:
        await sdk.responses.create(
            model=pirate,
            input=[{"role": "user", "content": [{"type": "input_image", "image_url": "x"}]}],  # type: ignore[list-item, typeddict-item]
        )

    assert both.value.param == "previous_response_id"  # type: ignore[attr-defined]
    assert unknown_model.value.code == "model_not_found"  # type: ignore[attr-defined]
    assert mismatch.value.code == "conversation_character_mismatch"  # type: ignore[attr-defined]
    assert tools.value.param == "tools"  # type: ignore[attr-defined]
    assert image.value.param == "input[0].content[0]"  # type: ignore[attr-defined]
    assert await stored(http, alice, first.conversation.id) == ["Ahoy", "stub reply to: Ahoy"]


async def test_a_tenant_sees_only_its_own_responses(
    server: str, sdk: AsyncOpenAI, http: httpx.AsyncClient, bob: Tenant, pirate: str
) -> None:
    first = await sdk.responses.create(model=pirate, input="Ahoy")
    bobs_pirate = await make_character(http, bob, "You are Bob's pirate.")
    async with sdk_for(server, bob.key) as bobs:
        with pytest.raises(openai.NotFoundError):
            await bobs.responses.create(model=pirate, input="x")  # Alice's character
        with pytest.raises(openai.NotFoundError):
            await bobs.responses.create(model=bobs_pirate, input="x", previous_response_id=first.id)
        with pytest.raises(openai.NotFoundError):
            await bobs.responses.retrieve(first.id)
        with pytest.raises(openai.NotFoundError):
            await bobs.responses.input_items.list(first.id)
        with pytest.raises(openai.NotFoundError):
            await bobs.responses.delete(first.id)
    assert (await sdk.responses.retrieve(first.id)).output_text == "stub reply to: Ahoy"


async def test_a_conversation_goes_on_between_api_chat_and_responses(
    sdk: AsyncOpenAI, http: httpx.AsyncClient, alice: Tenant, pirate: str
) -> None:
    headers = {"x-api-key": alice.key}
    chat = {"character_id": pirate, "content": "From chat", "conversation_id": "shared-1"}
    assert (await http.post("/api/chat", json=chat, headers=headers)).status_code == 201

    response = await sdk.responses.create(model=pirate, input="From v1", conversation="shared-1")
    again = {**chat, "content": "Chat again"}
    assert (await http.post("/api/chat", json=again, headers=headers)).status_code == 201

    assert response.conversation is not None
    assert response.conversation.id == "shared-1"
    assert await stored(http, alice, "shared-1") == [
        "From chat", "stub reply to: From chat", "From v1", "stub reply to: From v1",
        "Chat again", "stub reply to: Chat again",
    ]  # fmt: skip
