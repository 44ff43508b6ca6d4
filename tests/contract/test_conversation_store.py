"""ConversationStore contract (SPEC §6.2): the in-process store behaves like the Redis one."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from uuid import UUID, uuid4

import pytest

from fastwrap.adapters.clock import ManualClock
from fastwrap.domain.errors import Busy, Conflict
from fastwrap.domain.model import Message
from tests.support.redis import MAX_MESSAGES, ConversationCase

TTL = 100
CLOSE = timedelta(milliseconds=500)  # Redis time runs on a little while a test runs


def turn(clock: ManualClock, n: int) -> tuple[Message, Message]:
    now = clock.now()
    return (
        Message(role="user", content=f"question {n}", created_at=now),
        Message(role="assistant", content=f"answer {n}", created_at=now + timedelta(seconds=1)),
    )


async def add_turns(
    case: ConversationCase, tenant: UUID, conversation: str, character: UUID, turns: range
) -> None:
    for n in turns:
        await case.store.append_turn(tenant, conversation, character, turn(case.clock, n), TTL)


async def test_unknown_conversation_is_none(conversation_store: ConversationCase) -> None:
    assert await conversation_store.store.get(uuid4(), "nobody") is None


async def test_a_turn_is_stored_and_read_back(conversation_store: ConversationCase) -> None:
    case, tenant, character = conversation_store, uuid4(), uuid4()
    first, second = turn(case.clock, 1), turn(case.clock, 2)
    await case.store.append_turn(tenant, "c-1", character, first, TTL)
    expires_at = await case.store.append_turn(tenant, "c-1", character, second, TTL)

    conversation = await case.store.get(tenant, "c-1")

    assert conversation is not None
    assert (conversation.id, conversation.client_id) == ("c-1", tenant)
    assert conversation.character_id == character
    assert conversation.messages == (*first, *second)
    assert expires_at == case.clock.now() + timedelta(seconds=TTL)
    assert abs(conversation.expires_at - expires_at) < CLOSE


async def test_ttl_slides_on_every_turn(conversation_store: ConversationCase) -> None:
    case, tenant, character = conversation_store, uuid4(), uuid4()
    await add_turns(case, tenant, "c", character, range(1))
    await case.advance(60)
    await add_turns(case, tenant, "c", character, range(1, 2))
    await case.advance(60)  # 120 s after the first turn: alive only because the TTL slid

    conversation = await case.store.get(tenant, "c")

    assert conversation is not None
    assert len(conversation.messages) == 4
    assert abs(conversation.expires_at - (case.clock.now() + timedelta(seconds=40))) < CLOSE


async def test_expiry_forgets_and_the_next_turn_starts_fresh(
    conversation_store: ConversationCase,
) -> None:
    case, tenant = conversation_store, uuid4()
    await add_turns(case, tenant, "c", uuid4(), range(3))
    await case.advance(TTL + 1)

    assert await case.store.get(tenant, "c") is None
    other_character = uuid4()  # an expired id is free for any character
    await add_turns(case, tenant, "c", other_character, range(7, 8))
    conversation = await case.store.get(tenant, "c")
    assert conversation is not None
    assert conversation.character_id == other_character
    assert [m.content for m in conversation.messages] == ["question 7", "answer 7"]


async def test_each_character_ttl_is_honoured(conversation_store: ConversationCase) -> None:
    case, tenant, character = conversation_store, uuid4(), uuid4()
    await case.store.append_turn(tenant, "short", character, turn(case.clock, 1), 10)
    await case.store.append_turn(tenant, "long", character, turn(case.clock, 1), 1000)
    await case.advance(11)

    assert await case.store.get(tenant, "short") is None
    assert await case.store.get(tenant, "long") is not None


async def test_another_character_conflicts_and_changes_nothing(
    conversation_store: ConversationCase,
) -> None:
    case, tenant, owner = conversation_store, uuid4(), uuid4()
    await add_turns(case, tenant, "c", owner, range(1))
    before = await case.store.get(tenant, "c")

    with pytest.raises(Conflict, match="another character"):
        await case.store.append_turn(tenant, "c", uuid4(), turn(case.clock, 2), TTL)

    after = await case.store.get(tenant, "c")
    assert before is not None
    assert after is not None
    assert (after.character_id, after.messages) == (owner, before.messages)


async def test_only_the_most_recent_messages_are_kept(conversation_store: ConversationCase) -> None:
    case, tenant, character = conversation_store, uuid4(), uuid4()
    turns = MAX_MESSAGES // 2 + 3
    await add_turns(case, tenant, "c", character, range(turns))

    conversation = await case.store.get(tenant, "c")

    assert conversation is not None
    assert len(conversation.messages) == MAX_MESSAGES
    assert conversation.messages[-1].content == f"answer {turns - 1}"
    assert conversation.messages[0].content == f"question {turns - MAX_MESSAGES // 2}"


async def test_concurrent_appends_never_split_a_turn(conversation_store: ConversationCase) -> None:
    case, tenant, character = conversation_store, uuid4(), uuid4()
    turns = 3 * MAX_MESSAGES

    await asyncio.gather(
        *(
            case.store.append_turn(tenant, "c", character, turn(case.clock, n), TTL)
            for n in range(turns)
        )
    )

    conversation = await case.store.get(tenant, "c")
    assert conversation is not None
    messages = conversation.messages
    assert len(messages) == MAX_MESSAGES
    pairs = list(zip(messages[::2], messages[1::2], strict=True))
    assert all(q.role == "user" and a.role == "assistant" for q, a in pairs)
    assert all(q.content.split()[1] == a.content.split()[1] for q, a in pairs)
    assert len({q.content for q, _ in pairs}) == len(pairs)


async def test_tenants_are_isolated(conversation_store: ConversationCase) -> None:
    case, alice, bob = conversation_store, uuid4(), uuid4()
    await add_turns(case, alice, "same-id", uuid4(), range(1))
    bobs_character = uuid4()

    assert await case.store.get(bob, "same-id") is None
    await add_turns(case, bob, "same-id", bobs_character, range(5, 6))  # no Conflict
    assert await case.store.delete(bob, "same-id") is True

    alices = await case.store.get(alice, "same-id")
    assert alices is not None
    assert [m.content for m in alices.messages] == ["question 0", "answer 0"]


async def test_delete_forgets_once(conversation_store: ConversationCase) -> None:
    case, tenant = conversation_store, uuid4()
    await add_turns(case, tenant, "c", uuid4(), range(1))

    assert await case.store.delete(tenant, "c") is True
    assert await case.store.get(tenant, "c") is None
    assert await case.store.delete(tenant, "c") is False
    assert await case.store.delete(tenant, "never-was") is False


async def test_an_expired_conversation_cannot_be_deleted(
    conversation_store: ConversationCase,
) -> None:
    case, tenant = conversation_store, uuid4()
    await add_turns(case, tenant, "c", uuid4(), range(1))
    await case.advance(TTL + 1)

    assert await case.store.delete(tenant, "c") is False


async def test_delete_all_drops_one_tenant_only(conversation_store: ConversationCase) -> None:
    case, doomed, kept = conversation_store, uuid4(), uuid4()
    character = uuid4()
    for name in ("a", "b", "c"):
        await add_turns(case, doomed, name, character, range(1))
    await add_turns(case, kept, "a", character, range(1))

    await case.store.delete_all(doomed)

    assert [await case.store.get(doomed, name) for name in ("a", "b", "c")] == [None] * 3
    assert await case.store.get(kept, "a") is not None
    await add_turns(case, doomed, "a", uuid4(), range(1))  # the id is free again
    await case.store.delete_all(uuid4())  # a tenant with nothing is fine


async def test_the_lock_serialises_turns(conversation_store: ConversationCase) -> None:
    case, tenant, character = conversation_store, uuid4(), uuid4()
    store = case.store

    async def one_turn(n: int) -> None:
        async with store.lock(tenant, "c"):
            before = await store.get(tenant, "c")
            seen = len(before.messages) if before else 0
            await asyncio.sleep(0.001)  # a model call: without the lock, turns would interleave
            message = Message(role="user", content=f"saw {seen}", created_at=case.clock.now())
            reply = Message(role="assistant", content=f"{n}", created_at=case.clock.now())
            await store.append_turn(tenant, "c", character, (message, reply), TTL)

    turns = 4  # each waits for those before it: keep well inside the fixture's lock wait
    await asyncio.gather(*(one_turn(n) for n in range(turns)))

    conversation = await store.get(tenant, "c")
    assert conversation is not None
    seen = [m.content for m in conversation.messages if m.role == "user"]
    assert seen == [f"saw {2 * n}" for n in range(turns)]


async def test_a_lock_not_had_in_time_is_busy(conversation_store: ConversationCase) -> None:
    store, tenant = conversation_store.store, uuid4()
    async with store.lock(tenant, "c"):
        with pytest.raises(Busy):
            async with store.lock(tenant, "c"):
                pytest.fail("two turns held one conversation at once")
        async with store.lock(tenant, "other"):  # other conversations are not held up
            pass
        async with store.lock(uuid4(), "c"):  # nor another tenant's conversation of that id
            pass


async def test_the_lock_is_given_back_after_a_failed_turn(
    conversation_store: ConversationCase,
) -> None:
    store, tenant = conversation_store.store, uuid4()
    with pytest.raises(RuntimeError):
        async with store.lock(tenant, "c"):
            raise RuntimeError("the model failed")

    async with store.lock(tenant, "c"):
        pass
