"""`/v1/conversations` with OpenAI's SDK against a real FastWrap: the same conversations as
`/api/conversations`, created with items and metadata, bound by their first response."""

from __future__ import annotations

import httpx
import openai
import pytest
from openai import AsyncOpenAI

from tests.openai.conftest import sdk_for
from tests.support.app import Tenant, make_character
from tests.support.openai_stub import OpenAIStub


async def test_a_conversation_is_created_with_items_and_continued_by_responses(
    sdk: AsyncOpenAI, http: httpx.AsyncClient, alice: Tenant, pirate: str, openai_stub: OpenAIStub
) -> None:
    created = await sdk.conversations.create(
        metadata={"topic": "ships"},
        items=[
            {"type": "message", "role": "user", "content": "I like ships"},
            {"type": "message", "role": "assistant", "content": "Noted"},
        ],
    )
    assert created.id.startswith("conv_")
    assert created.object == "conversation"
    assert created.metadata == {"topic": "ships"}

    response = await sdk.responses.create(
        model=pirate, input="What do I like?", conversation={"id": created.id}
    )

    assert response.conversation is not None
    assert response.conversation.id == created.id
    body = openai_stub.requests_to("/v1/chat/completions")[-1].body
    contents = [m["content"] for m in body["messages"]]
    assert contents[1:] == ["I like ships", "Noted", "What do I like?"]
    chat_view = await http.get(f"/api/conversations/{created.id}", headers={"x-api-key": alice.key})
    assert chat_view.json()["data"]["character_id"] == pirate
    assert len(chat_view.json()["data"]["messages"]) == 4
    other = await make_character(http, alice, "You are a parrot.")
    with pytest.raises(openai.ConflictError):
        await sdk.responses.create(model=other, input="x", conversation=created.id)


async def test_items_are_listed_newest_first_in_pages(sdk: AsyncOpenAI, pirate: str) -> None:
    created = await sdk.conversations.create()
    first = await sdk.responses.create(model=pirate, input="one", conversation=created.id)
    await sdk.responses.create(model=pirate, input="two", previous_response_id=first.id)

    page = await sdk.conversations.items.list(created.id, limit=3)
    everything = [item async for item in sdk.conversations.items.list(created.id, limit=1)]
    oldest = await sdk.conversations.items.list(created.id, order="asc", limit=2)

    texts = [item.content[0].text for item in page.data]  # type: ignore[union-attr]
    assert texts == ["stub reply to: two", "two", "stub reply to: one"]
    assert page.has_more
    assert page.last_id == page.data[-1].id  # type: ignore[attr-defined]
    assert len(everything) == 4  # the SDK's pages follow `after`
    assert [i.content[0].text for i in oldest.data] == ["one", "stub reply to: one"]  # type: ignore[union-attr]
    assert [i.role for i in oldest.data] == ["user", "assistant"]  # type: ignore[union-attr]
    assert oldest.data[1].id == first.output[0].id  # a reply's item is its response's output


async def test_metadata_is_replaced_and_a_deleted_conversation_takes_its_responses(
    sdk: AsyncOpenAI, pirate: str
) -> None:
    created = await sdk.conversations.create(metadata={"a": "1"})
    response = await sdk.responses.create(model=pirate, input="Ahoy", conversation=created.id)

    updated = await sdk.conversations.update(created.id, metadata={"b": "2"})
    assert updated.metadata == {"b": "2"}
    assert (await sdk.conversations.retrieve(created.id)).metadata == {"b": "2"}

    deleted = await sdk.conversations.delete(created.id)

    assert (deleted.id, deleted.deleted) == (created.id, True)
    with pytest.raises(openai.NotFoundError):
        await sdk.conversations.retrieve(created.id)
    with pytest.raises(openai.NotFoundError):
        await sdk.responses.retrieve(response.id)
    with pytest.raises(openai.NotFoundError):
        await sdk.conversations.delete(created.id)


async def test_bad_conversations_are_refused(sdk: AsyncOpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as too_much:
        await sdk.conversations.create(metadata={f"k{i}": "v" for i in range(17)})
    with pytest.raises(openai.BadRequestError) as system:
        await sdk.conversations.create(items=[{"role": "system", "content": "Obey"}])
    created = await sdk.conversations.create()
    with pytest.raises(openai.BadRequestError) as cursor:
        await sdk.conversations.items.list(created.id, after="msg_nonsense")
    with pytest.raises(openai.NotFoundError):
        await sdk.conversations.retrieve("conv_unknown")

    assert too_much.value.param == "metadata"  # type: ignore[attr-defined]
    assert system.value.code == "invalid_value"  # type: ignore[attr-defined]
    assert cursor.value.param == "after"  # type: ignore[attr-defined]


async def test_a_tenant_sees_only_its_own_conversations(
    server: str, sdk: AsyncOpenAI, bob: Tenant, pirate: str
) -> None:
    created = await sdk.conversations.create(metadata={"owner": "alice"})
    await sdk.responses.create(model=pirate, input="Ahoy", conversation=created.id)

    async with sdk_for(server, bob.key) as bobs:
        with pytest.raises(openai.NotFoundError):
            await bobs.conversations.retrieve(created.id)
        with pytest.raises(openai.NotFoundError):
            await bobs.conversations.items.list(created.id)
        with pytest.raises(openai.NotFoundError):
            await bobs.conversations.update(created.id, metadata={"owner": "bob"})
        with pytest.raises(openai.NotFoundError):
            await bobs.conversations.delete(created.id)

    assert (await sdk.conversations.retrieve(created.id)).metadata == {"owner": "alice"}
    assert len([i async for i in sdk.conversations.items.list(created.id)]) == 2
