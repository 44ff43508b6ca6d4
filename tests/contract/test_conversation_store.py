"""ConversationStore contract (SPEC §6.2): the in-process store behaves like the Redis one."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from uuid import UUID, uuid4

import pytest

from fastwrap.adapters.redis import turn as redis_turn
from fastwrap.adapters.redis.client import RedisClient, connect
from fastwrap.adapters.redis.conversations import RedisConversationStore
from fastwrap.adapters.redis.scripts import ALL, COMMIT, TAKE_AND_READ
from fastwrap.domain.errors import Busy, Conflict, NotFound
from fastwrap.domain.model import Message
from tests.support.clock import ManualClock
from tests.support.redis import MAX_MESSAGES, ConversationCase, TcpProxy

TTL = 100
KEYS = ("msgs", "meta", "lock")
CLOSE = timedelta(milliseconds=500)  # Redis time runs on a little while a test runs


def turn(clock: ManualClock, n: int) -> tuple[Message, Message]:
    now = clock.now()
    return (
        Message(role="user", content=f"question {n}", created_at=now),
        Message(role="assistant", content=f"answer {n}", created_at=now + timedelta(seconds=1)),
    )


async def take_turn(
    case: ConversationCase,
    tenant: UUID,
    conversation: str,
    character: UUID,
    n: int,
    ttl: int = TTL,
) -> datetime:
    async with case.store.turn(tenant, conversation, ttl) as held:
        return await held.commit(character, turn(case.clock, n))


async def add_turns(
    case: ConversationCase, tenant: UUID, conversation: str, character: UUID, turns: range
) -> None:
    for n in turns:
        await take_turn(case, tenant, conversation, character, n)


async def test_unknown_conversation_is_none(conversation_store: ConversationCase) -> None:
    store, tenant = conversation_store.store, uuid4()
    assert await store.get(tenant, "nobody") is None
    async with store.turn(tenant, "nobody", TTL) as held:
        assert held.conversation is None


async def test_a_turn_is_stored_and_read_back(conversation_store: ConversationCase) -> None:
    case, tenant, character = conversation_store, uuid4(), uuid4()
    first, second = turn(case.clock, 1), turn(case.clock, 2)
    async with case.store.turn(tenant, "c-1", TTL) as held:
        await held.commit(character, first)
    async with case.store.turn(tenant, "c-1", TTL) as held:
        assert held.conversation is not None  # what the turn sees, read under the lock
        assert held.conversation.messages == first
        expires_at = await held.commit(character, second)

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
    async with case.store.turn(tenant, "c", TTL) as held:
        assert held.conversation is None
        await held.commit(other_character, turn(case.clock, 7))
    conversation = await case.store.get(tenant, "c")
    assert conversation is not None
    assert conversation.character_id == other_character
    assert [m.content for m in conversation.messages] == ["question 7", "answer 7"]


async def test_each_character_ttl_is_honoured(conversation_store: ConversationCase) -> None:
    case, tenant, character = conversation_store, uuid4(), uuid4()
    await take_turn(case, tenant, "short", character, 1, ttl=10)
    await take_turn(case, tenant, "long", character, 1, ttl=1000)
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
        await take_turn(case, tenant, "c", uuid4(), 2)

    after = await case.store.get(tenant, "c")
    assert before is not None
    assert after is not None
    assert (after.character_id, after.messages) == (owner, before.messages)
    await add_turns(case, tenant, "c", owner, range(3, 4))  # the conflict gave the lock back


async def test_only_the_most_recent_messages_are_kept(conversation_store: ConversationCase) -> None:
    case, tenant, character = conversation_store, uuid4(), uuid4()
    turns = MAX_MESSAGES // 2 + 3
    await add_turns(case, tenant, "c", character, range(turns))

    conversation = await case.store.get(tenant, "c")

    assert conversation is not None
    assert len(conversation.messages) == MAX_MESSAGES
    assert conversation.messages[-1].content == f"answer {turns - 1}"
    assert conversation.messages[0].content == f"question {turns - MAX_MESSAGES // 2}"


async def test_a_turn_reads_only_the_recent_messages_and_keeps_them_all(
    conversation_store: ConversationCase,
) -> None:
    """A turn needs the tail its history budget can use, not all 1,000 stored messages."""
    case, tenant, character = conversation_store, uuid4(), uuid4()
    await add_turns(case, tenant, "c", character, range(4))
    stored = await case.store.get(tenant, "c")
    assert stored is not None
    assert len(stored.messages) == 8

    async with case.store.turn(tenant, "c", TTL, recent=3) as held:
        assert held.conversation is not None
        assert held.conversation.messages == stored.messages[-3:]
        assert held.conversation.character_id == character
        await held.commit(character, turn(case.clock, 4))

    everything = await case.store.get(tenant, "c")
    assert everything is not None
    assert everything.messages == (*stored.messages, *turn(case.clock, 4))  # nothing dropped
    for recent, expected in ((0, ()), (2, everything.messages[-2:]), (99, everything.messages)):
        tail = await case.store.get(tenant, "c", recent=recent)
        assert tail is not None
        assert (tail.character_id, tail.messages) == (character, expected)
    async with case.store.turn(tenant, "c", TTL, recent=0) as held:
        assert held.conversation is not None
        assert held.conversation.messages == ()


async def test_a_turn_commits_once_and_only_while_held(
    conversation_store: ConversationCase,
) -> None:
    case, tenant, character = conversation_store, uuid4(), uuid4()
    async with case.store.turn(tenant, "c", TTL) as held:
        await held.commit(character, turn(case.clock, 1))
        with pytest.raises(RuntimeError):
            await held.commit(character, turn(case.clock, 2))
    with pytest.raises(RuntimeError):
        await held.commit(character, turn(case.clock, 3))

    conversation = await case.store.get(tenant, "c")
    assert conversation is not None
    assert [m.content for m in conversation.messages] == ["question 1", "answer 1"]


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
    await add_turns(case, kept, "b", character, range(1))  # the other tenant carries on
    await case.store.delete_all(uuid4())  # a tenant with nothing is fine


async def test_a_deleted_tenants_turn_in_flight_stores_nothing(
    conversation_store: ConversationCase,
) -> None:
    """SPEC §8: deletion wins against a turn that holds a conversation while it happens."""
    case, tenant, character = conversation_store, uuid4(), uuid4()
    await add_turns(case, tenant, "old", character, range(1))
    async with (
        case.store.turn(tenant, "old", TTL) as on_old,
        case.store.turn(tenant, "new", TTL) as on_new,
    ):
        await case.store.delete_all(tenant)  # while both turns wait for the model
        for held in (on_old, on_new):
            with pytest.raises(NotFound, match="client not found"):
                await held.commit(character, turn(case.clock, 2))

    assert await case.store.get(tenant, "old") is None
    assert await case.store.get(tenant, "new") is None
    with pytest.raises(NotFound, match="client not found"):
        async with case.store.turn(tenant, "later", TTL):
            pytest.fail("a deleted tenant began a turn")
    assert await case.store.get(tenant, "later") is None


async def test_a_conversation_stored_again_after_its_delete_is_still_swept(
    conversation_store: ConversationCase,
) -> None:
    """A turn in flight stores a conversation deleted meanwhile: delete_all must still find it."""
    case, tenant, character = conversation_store, uuid4(), uuid4()
    await add_turns(case, tenant, "c", character, range(1))
    async with case.store.turn(tenant, "c", TTL) as held:
        assert await case.store.delete(tenant, "c") is True
        await held.commit(character, turn(case.clock, 1))
    assert await case.store.get(tenant, "c") is not None

    await case.store.delete_all(tenant)

    assert await case.store.get(tenant, "c") is None


async def test_turns_on_one_conversation_are_serialised(
    conversation_store: ConversationCase,
) -> None:
    case, tenant, character = conversation_store, uuid4(), uuid4()
    store = case.store

    async def one_turn(n: int) -> None:
        async with store.turn(tenant, "c", TTL) as held:
            seen = len(held.conversation.messages) if held.conversation else 0
            await asyncio.sleep(0.001)  # a model call: without the lock, turns would interleave
            message = Message(role="user", content=f"saw {seen}", created_at=case.clock.now())
            reply = Message(role="assistant", content=f"{n}", created_at=case.clock.now())
            await held.commit(character, (message, reply))

    turns = 4  # each waits for those before it: keep well inside the fixture's lock wait
    await asyncio.gather(*(one_turn(n) for n in range(turns)))

    conversation = await store.get(tenant, "c")
    assert conversation is not None
    messages = conversation.messages
    assert [m.content for m in messages if m.role == "user"] == [f"saw {2 * n}" for n in range(4)]
    assert [m.role for m in messages] == ["user", "assistant"] * turns  # no turn split
    assert len({m.content for m in messages if m.role == "assistant"}) == turns


async def test_a_turn_not_had_in_time_is_busy(conversation_store: ConversationCase) -> None:
    case, tenant = conversation_store, uuid4()
    store = case.store
    async with store.turn(tenant, "c", TTL):
        with pytest.raises(Busy):
            async with store.turn(tenant, "c", TTL):
                pytest.fail("two turns held one conversation at once")
        async with store.turn(tenant, "other", TTL):  # other conversations are not held up
            pass
        async with store.turn(uuid4(), "c", TTL):  # nor another tenant's conversation of that id
            pass


async def test_an_abandoned_turn_stores_nothing_and_frees_the_conversation(
    conversation_store: ConversationCase,
) -> None:
    case, tenant, character = conversation_store, uuid4(), uuid4()
    await add_turns(case, tenant, "c", character, range(1))
    before = await case.store.get(tenant, "c")
    with pytest.raises(RuntimeError):
        async with case.store.turn(tenant, "c", TTL):
            raise RuntimeError("the model failed")
    async with case.store.turn(tenant, "c", TTL):
        pass  # a client that went away: left without a commit
    async with case.store.turn(tenant, "new", TTL):
        pass

    after = await case.store.get(tenant, "c")
    assert before is not None
    assert after is not None
    assert after.messages == before.messages
    assert await case.store.get(tenant, "new") is None
    await add_turns(case, tenant, "c", character, range(1, 2))  # and the lock is free again


def proxied_store(
    client: RedisClient, clock: ManualClock, namespace: str
) -> RedisConversationStore:
    return RedisConversationStore(
        client,
        clock,
        lock_wait_seconds=0.5,
        lock_ttl_seconds=5,
        max_messages=MAX_MESSAGES,
        key_prefix=namespace,
    )


async def test_an_uncontended_redis_turn_costs_two_round_trips(
    redis_proxy: tuple[TcpProxy, str], redis_namespace: str
) -> None:
    proxy, url = redis_proxy
    clock, tenant, character = ManualClock(), uuid4(), uuid4()
    client = connect(url)
    try:
        store = proxied_store(client, clock, redis_namespace)
        async with store.turn(tenant, "c", TTL) as held:  # connects, loads missing scripts
            await held.commit(character, turn(clock, 0))

        counted: list[int] = []
        for conversation, commit in (("c", True), ("new", True), ("c", False)):
            before = proxy.round_trips
            async with store.turn(tenant, conversation, TTL) as held:
                if commit:
                    await held.commit(character, turn(clock, 1))
            counted.append(proxy.round_trips - before)
        stored = await store.get(tenant, "new")
    finally:
        await client.aclose()

    # Index, lock and read in one pipeline; store and release in one script. An abandoned turn
    # gives the lock back in its second.
    assert counted == [2, 2, 2]
    assert stored is not None
    assert len(stored.messages) == 2


async def test_a_redis_turn_longer_than_its_index_allowance_indexes_again(
    redis_proxy: tuple[TcpProxy, str], redis_namespace: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy, url = redis_proxy
    clock, tenant, character = ManualClock(), uuid4(), uuid4()
    monkeypatch.setattr(redis_turn, "TURN_ALLOWANCE_SECONDS", 0)  # every turn is long
    client = connect(url)
    try:
        store = proxied_store(client, clock, redis_namespace)
        async with store.turn(tenant, "warm-up", TTL) as held:
            await held.commit(character, turn(clock, 0))
        before = proxy.round_trips
        async with store.turn(tenant, "c", TTL) as held:
            await held.commit(character, turn(clock, 1))
        counted = proxy.round_trips - before
        await store.delete_all(tenant)
        gone = [await store.get(tenant, name) for name in ("warm-up", "c")]
    finally:
        await client.aclose()

    assert counted == 3
    assert gone == [None, None]


async def test_a_redis_turn_that_outlives_the_gone_mark_is_refused_by_the_tombstone(
    redis_url: str, redis_namespace: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A turn longer than its allowance indexes again before it stores, and so meets the
    tenant's tombstone even once the conversation's own mark has expired."""
    clock, tenant, character = ManualClock(), uuid4(), uuid4()
    monkeypatch.setattr(redis_turn, "TURN_ALLOWANCE_SECONDS", 0)  # every turn is long
    client = connect(redis_url)
    try:
        store = proxied_store(client, clock, redis_namespace)
        async with store.turn(tenant, "c", TTL) as held:
            await store.delete_all(tenant)
            await client.delete(f"{redis_namespace}{{{tenant}:c}}:meta")  # the mark expired
            with pytest.raises(NotFound, match="client not found"):
                await held.commit(character, turn(clock, 1))
        left = await client.exists(*(f"{redis_namespace}{{{tenant}:c}}:{k}" for k in KEYS))
    finally:
        await client.aclose()

    assert left == 0  # nothing stored, and the lock given back


async def test_redis_scripts_retried_after_a_lost_reply_do_their_work_once(
    redis_url: str, redis_namespace: str
) -> None:
    """redis-py re-sends a command whose reply a dropped connection lost; the script ran."""
    client = connect(redis_url)
    keys = [f"{redis_namespace}{{t:c}}:{part}" for part in ("msgs", "meta", "lock")]
    token, character = "token-1", str(uuid4())
    # ... token, end user (none), newest seq, created, then the messages
    commit_args = [character, 60_000, MAX_MESSAGES, "turn-1", token, "", 2, "2026-01-01", "q", "a"]
    try:
        take = client.register_script(TAKE_AND_READ)
        commit = client.register_script(COMMIT)
        assert await take(keys=keys, args=[token, 5000, ALL]) == []
        assert await take(keys=keys, args=[token, 5000, ALL]) == []  # still ours
        assert await take(keys=keys, args=["token-2", 5000, ALL]) == 0  # busy for anyone else

        assert await commit(keys=keys, args=commit_args) == [1, 1]
        assert await commit(keys=keys, args=commit_args) == [1, 0]  # stored once, released once
        assert await client.lrange(keys[0], 0, -1) == ["q", "a"]
        assert await client.exists(keys[2]) == 0
    finally:
        await client.aclose()
