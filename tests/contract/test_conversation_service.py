"""Conversations as a domain use case, over both conversation stores: created with items and
metadata, bound by their first response, listed in pages, expiring with their responses."""

from __future__ import annotations

import pytest

from fastwrap.domain.conversations import ItemPage
from fastwrap.domain.errors import Conflict, Invalid, NotFound
from fastwrap.domain.model import PromptMessage
from fastwrap.domain.responses import item_id
from tests.support.redis import ConversationCase
from tests.support.responses import TTL, Desk, build_desk


@pytest.fixture
async def desk(conversation_store: ConversationCase) -> Desk:
    return await build_desk(conversation_store)


async def test_a_conversation_created_with_items_is_bound_by_its_first_response(desk: Desk) -> None:
    created = await desk.conversations.create(
        desk.tenant,
        metadata={"topic": "ships"},
        items=(
            PromptMessage(role="user", content="I like ships"),
            PromptMessage(role="assistant", content="Noted"),
        ),
    )
    assert created.character_id is None

    response = await desk.create("What do I like?", conversation_id=created.id)

    assert ("user", "I like ships") in desk.last_prompt()
    bound = await desk.conversations.get(desk.tenant, created.id)
    assert (bound.character_id, bound.metadata) == (desk.pirate.id, {"topic": "ships"})
    with pytest.raises(Conflict):
        await desk.create("x", conversation_id=created.id, character=desk.parrot)
    assert response.conversation_id == created.id

    updated = await desk.conversations.update(desk.tenant, created.id, {"topic": "maps"})
    assert updated.metadata == {"topic": "maps"}
    await desk.conversations.delete(desk.tenant, created.id)
    with pytest.raises(NotFound):
        await desk.conversations.get(desk.tenant, created.id)
    with pytest.raises(NotFound):
        await desk.responses.get(desk.tenant, response.id)


async def test_items_come_in_pages_either_way(desk: Desk) -> None:
    first = await desk.create("one")
    await desk.create("two", previous_response_id=first.id)
    assert first.conversation_id is not None

    newest = await desk.conversations.items(desk.tenant, first.conversation_id, limit=3)
    rest = await desk.conversations.items(
        desk.tenant, first.conversation_id, limit=3, after=newest_id(newest, first.conversation_id)
    )
    oldest = await desk.conversations.items(
        desk.tenant, first.conversation_id, order="asc", limit=2
    )

    assert [m.seq for m in newest.items] == [4, 3, 2]
    assert newest.has_more
    assert ([m.seq for m in rest.items], rest.has_more) == ([1], False)
    assert [m.seq for m in oldest.items] == [1, 2]
    with pytest.raises(Invalid):
        await desk.conversations.items(desk.tenant, first.conversation_id, after="msg_bogus")


def newest_id(page: ItemPage, conversation_id: str) -> str:
    return item_id(conversation_id, page.items[-1].seq)


async def test_a_conversation_expires_with_its_responses(desk: Desk) -> None:
    first = await desk.create("Ahoy")
    await desk.case.advance(TTL + 1)

    with pytest.raises(NotFound):
        await desk.responses.get(desk.tenant, first.id)
    with pytest.raises(NotFound):
        await desk.create("More", previous_response_id=first.id)
