"""ConversationStore contract, continued: numbered messages, end users, conversations created
empty, metadata and removal — the same in-process and in Redis."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID, uuid4

import pytest

from fastwrap.domain.errors import Conflict, NotFound
from fastwrap.domain.model import Message, Usage
from tests.support.clock import ManualClock
from tests.support.redis import MAX_MESSAGES, ConversationCase

TTL = 100


def numbered(clock: ManualClock, first: int, count: int = 2) -> tuple[Message, ...]:
    """`count` alternating messages numbered from `first`, the replies with usage."""
    return tuple(
        Message(
            role="user" if (first + i) % 2 else "assistant",
            content=f"message {first + i}",
            created_at=clock.now() + timedelta(seconds=i),
            seq=first + i,
            usage=None if (first + i) % 2 else Usage(input_tokens=first, output_tokens=i),
        )
        for i in range(count)
    )


async def commit(
    case: ConversationCase,
    tenant: UUID,
    conversation: str,
    character: UUID,
    messages: tuple[Message, ...],
    end_user: str | None = None,
) -> None:
    async with case.store.turn(tenant, conversation, TTL) as held:
        await held.commit(character, messages, end_user=end_user)


async def test_messages_keep_their_numbers_when_the_oldest_are_trimmed(
    conversation_store: ConversationCase,
) -> None:
    case, tenant, character = conversation_store, uuid4(), uuid4()
    for first in range(1, 2 * MAX_MESSAGES, 2):  # MAX_MESSAGES turns: twice what is kept
        async with case.store.turn(tenant, "c", TTL) as held:
            seen = held.conversation.last_seq if held.conversation else 0
            assert seen == first - 1  # what a turn numbers its messages from
            await held.commit(character, numbered(case.clock, first))

    conversation = await case.store.get(tenant, "c")

    assert conversation is not None
    assert conversation.last_seq == 2 * MAX_MESSAGES
    assert [m.seq for m in conversation.messages] == list(
        range(MAX_MESSAGES + 1, 2 * MAX_MESSAGES + 1)
    )
    assert [m.content for m in conversation.messages] == [
        f"message {n}" for n in range(MAX_MESSAGES + 1, 2 * MAX_MESSAGES + 1)
    ]


async def test_usage_and_details_come_back_as_stored(conversation_store: ConversationCase) -> None:
    case, tenant, character = conversation_store, uuid4(), uuid4()
    question, reply = numbered(case.clock, 1)
    details = {"instructions": "be brief", "metadata": {"k": "v", "n": [1, 2.5, None]}}
    reply = Message(
        role="assistant",
        content=reply.content,
        created_at=reply.created_at,
        seq=2,
        usage=Usage(input_tokens=7, output_tokens=None),
        details=details,
    )
    await commit(case, tenant, "c", character, (question, reply))

    conversation = await case.store.get(tenant, "c")

    assert conversation is not None
    assert conversation.messages == (question, reply)
    assert conversation.messages[1].details == details


async def test_a_conversation_is_bound_to_the_end_user_of_its_first_turn(
    conversation_store: ConversationCase,
) -> None:
    case, tenant, character = conversation_store, uuid4(), uuid4()
    await commit(case, tenant, "c", character, numbered(case.clock, 1), end_user="alice")

    with pytest.raises(Conflict, match="another end user"):
        await commit(case, tenant, "c", character, numbered(case.clock, 3), end_user="bob")
    await commit(case, tenant, "c", character, numbered(case.clock, 3), end_user="alice")
    await commit(case, tenant, "c", character, numbered(case.clock, 5))  # the tenant itself

    conversation = await case.store.get(tenant, "c")
    assert conversation is not None
    assert conversation.end_user == "alice"
    assert conversation.last_seq == 6
    assert [m.seq for m in conversation.messages] == [1, 2, 3, 4, 5, 6]


async def test_an_end_user_cannot_take_over_a_conversation_the_tenant_started(
    conversation_store: ConversationCase,
) -> None:
    case, tenant, character = conversation_store, uuid4(), uuid4()
    await commit(case, tenant, "c", character, numbered(case.clock, 1))

    with pytest.raises(Conflict, match="another end user"):
        await commit(case, tenant, "c", character, numbered(case.clock, 3), end_user="alice")

    conversation = await case.store.get(tenant, "c")
    assert conversation is not None
    assert conversation.end_user is None
    assert conversation.last_seq == 2


async def test_a_new_conversation_may_start_from_a_history(
    conversation_store: ConversationCase,
) -> None:
    """A fork: the history it starts from and the new turn, in one commit."""
    case, tenant, character = conversation_store, uuid4(), uuid4()
    messages = numbered(case.clock, 1, 6)

    await commit(case, tenant, "fork", character, messages)

    conversation = await case.store.get(tenant, "fork")
    assert conversation is not None
    assert conversation.messages == messages
    assert conversation.last_seq == 6


async def test_a_conversation_created_empty_is_bound_by_its_first_turn(
    conversation_store: ConversationCase,
) -> None:
    case, tenant, character = conversation_store, uuid4(), uuid4()
    items = numbered(case.clock, 1)
    created = await case.store.create(
        tenant, "conv_1", ttl_seconds=TTL, metadata={"topic": "ships"}, messages=items,
        at=case.clock.now(),
    )  # fmt: skip

    assert created.character_id is None
    assert created.messages == items
    assert created.metadata == {"topic": "ships"}
    assert created.created_at == case.clock.now()
    assert created.last_seq == 2
    async with case.store.turn(tenant, "conv_1", TTL) as held:
        assert held.conversation is not None
        assert held.conversation.messages == items
        await held.commit(character, numbered(case.clock, 3), end_user="alice")

    conversation = await case.store.get(tenant, "conv_1")
    assert conversation is not None
    assert (conversation.character_id, conversation.end_user) == (character, "alice")
    assert conversation.metadata == {"topic": "ships"}
    assert conversation.created_at == created.created_at
    assert [m.seq for m in conversation.messages] == [1, 2, 3, 4]


async def test_an_id_in_use_cannot_be_created_again(conversation_store: ConversationCase) -> None:
    case, tenant, character = conversation_store, uuid4(), uuid4()
    await commit(case, tenant, "taken", character, numbered(case.clock, 1))

    with pytest.raises(Conflict):
        await case.store.create(
            tenant, "taken", ttl_seconds=TTL, metadata={}, messages=(), at=case.clock.now()
        )

    conversation = await case.store.get(tenant, "taken")
    assert conversation is not None
    assert conversation.character_id == character
    assert conversation.last_seq == 2


async def test_a_deleted_tenant_creates_nothing(conversation_store: ConversationCase) -> None:
    case, tenant = conversation_store, uuid4()
    await case.store.delete_all(tenant)

    with pytest.raises(NotFound):
        await case.store.create(
            tenant, "c", ttl_seconds=TTL, metadata={}, messages=(), at=case.clock.now()
        )

    assert await case.store.get(tenant, "c") is None


async def test_a_created_conversation_expires_and_is_deleted_with_its_tenant(
    conversation_store: ConversationCase,
) -> None:
    case, tenant = conversation_store, uuid4()
    await case.store.create(
        tenant, "short", ttl_seconds=5, metadata={}, messages=(), at=case.clock.now()
    )
    await case.store.create(
        tenant, "long", ttl_seconds=TTL, metadata={}, messages=(), at=case.clock.now()
    )

    await case.advance(6)
    assert await case.store.get(tenant, "short") is None
    assert await case.store.get(tenant, "long") is not None
    await case.store.delete_all(tenant)
    assert await case.store.get(tenant, "long") is None


async def test_metadata_is_replaced_and_nothing_else(conversation_store: ConversationCase) -> None:
    case, tenant, character = conversation_store, uuid4(), uuid4()
    await commit(case, tenant, "c", character, numbered(case.clock, 1))

    updated = await case.store.set_metadata(tenant, "c", {"a": "1"})
    again = await case.store.set_metadata(tenant, "c", {"b": "2"})

    assert updated is not None
    assert updated.metadata == {"a": "1"}
    assert again is not None
    assert again.metadata == {"b": "2"}
    assert again.messages == ()
    stored = await case.store.get(tenant, "c")
    assert stored is not None
    assert stored.metadata == {"b": "2"}
    assert stored.messages == numbered(case.clock, 1)
    assert await case.store.set_metadata(tenant, "nobody", {"a": "1"}) is None
    assert await case.store.get(tenant, "nobody") is None


async def test_messages_are_removed_by_number(conversation_store: ConversationCase) -> None:
    case, tenant, character = conversation_store, uuid4(), uuid4()
    await commit(case, tenant, "c", character, numbered(case.clock, 1, 6))

    assert await case.store.remove(tenant, "c", {3, 4, 99}) == 2
    assert await case.store.remove(tenant, "c", {3}) == 0
    assert await case.store.remove(tenant, "nobody", {1}) == 0

    conversation = await case.store.get(tenant, "c")
    assert conversation is not None
    assert [m.seq for m in conversation.messages] == [1, 2, 5, 6]
    assert conversation.last_seq == 6  # numbers are never reused
