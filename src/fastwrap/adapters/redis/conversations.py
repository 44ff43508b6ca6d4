"""Conversations in Redis, shared by every replica (SPEC §6.2, §7).

The keys and every script are in scripts.py; a turn, which owns its keys and its lock, is in
turn.py. One conversation's keys share a cluster slot, so each of its scripts is atomic; a
tenant's index and tombstone share another slot. Both conversation keys get the same TTL in the
same script, so they expire together.

Deleting a tenant (delete_all) wins against that tenant's turns in flight, in three steps:

1. Write the tenant's tombstone. INDEX, which every turn runs in its first round trip, checks it
   atomically (it lives in the index's slot): a turn begun afterwards stores nothing and answers
   NotFound. So every turn that may still store indexed its conversation before this step.
2. Sweep the index: in each conversation's slot, FORGET deletes it and leaves a `gone` mark that
   COMMIT refuses to store over. A turn stored before the sweep reaches its conversation is
   forgotten by it; one that commits later finds the mark, stores nothing, answers NotFound.
3. Delete the index, last: until the sweep is done it is the only list of what to forget. No entry
   can join it during the sweep (step 1), and none leaves it early: entries are pruned only long
   after their conversation expired, and `delete` leaves its entry (a turn in flight may store the
   conversation again).

How long each lasts. A mark must outlive every turn that may commit without reading the tombstone;
a turn older than TURN_ALLOWANCE_SECONDS indexes again before it commits, and so reads it: a mark
lasts twice that (20 minutes). The tombstone must outlive every turn begun before it, however
long: it lasts the longest conversation TTL, a week. A deleted tenant never comes back, and one
small key per deleted tenant for a week costs nothing. A turn still costs two round trips: the
tombstone is read in the first, the mark in the commit script.

If Redis fails during the sweep, the tombstone and the index stay (the index expires with its
longest-lived conversation); conversations not swept yet expire by their TTL.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any
from uuid import UUID

import orjson
from redis.typing import EncodableT

from fastwrap.adapters.redis.client import (
    DEFAULT_KEY_PREFIX,
    Outage,
    RedisClient,
    checked_prefix,
)
from fastwrap.adapters.redis.scripts import (
    ALL,
    INDEXED,
    ConversationKeys,
    ScriptCall,
    Scripts,
    TenantKeys,
)
from fastwrap.adapters.redis.turn import (
    GONE_DETAIL,
    INDEX_PRUNE_SLACK_MS,
    TURN_ALLOWANCE_SECONDS,
    WHAT,
    RedisTurn,
    TurnPolicy,
    conversation_from,
    encode,
)
from fastwrap.domain.errors import Conflict, NotFound
from fastwrap.domain.model import Conversation, JsonObject, Message
from fastwrap.ports.clock import Clock
from fastwrap.ports.conversations import ConversationStore, TurnSlot

DELETE_BATCH = 500
TAKEN_DETAIL = "a conversation with this id exists"
TOMBSTONE_SECONDS = 7 * 24 * 3600  # the longest conversation TTL (SPEC §6.1)
MARK_MS = 2 * TURN_ALLOWANCE_SECONDS * 1000


class RedisConversationStore(ConversationStore):
    def __init__(
        self,
        client: RedisClient,
        clock: Clock,
        *,
        lock_wait_seconds: float,
        lock_ttl_seconds: float,
        max_messages: int,
        key_prefix: str = DEFAULT_KEY_PREFIX,
    ) -> None:
        if max_messages < 2:
            raise ValueError("max_messages must hold at least one turn (2 messages)")
        self._prefix = checked_prefix(key_prefix)
        self._client = client
        self._clock = clock
        self._scripts = Scripts(client)
        self._policy = TurnPolicy(
            scripts=self._scripts,
            clock=clock,
            prefix=self._prefix,
            lock_wait_seconds=lock_wait_seconds,
            lock_ttl_ms=max(1, round(lock_ttl_seconds * 1000)),
            max_messages=max_messages,
            outage=Outage(WHAT),
        )

    async def get(
        self, client_id: UUID, conversation_id: str, *, recent: int | None = None
    ) -> Conversation | None:
        keys = ConversationKeys.of(self._prefix, client_id, conversation_id)
        count = ALL if recent is None else recent
        with self._policy.outage.watch():
            found: Sequence[Any] = await self._scripts.read(
                keys=[keys.msgs, keys.meta], args=[count]
            )
        return conversation_from(found, client_id, conversation_id, self._clock)

    @asynccontextmanager
    async def turn(
        self, client_id: UUID, conversation_id: str, ttl_seconds: int, *, recent: int | None = None
    ) -> AsyncIterator[TurnSlot]:
        held = RedisTurn(self._policy, client_id, conversation_id, ttl_seconds, recent)
        try:
            await held.acquire()
            yield held
        finally:
            await held.release()

    async def create(
        self,
        client_id: UUID,
        conversation_id: str,
        *,
        ttl_seconds: int,
        metadata: JsonObject,
        messages: Sequence[Message],
        at: datetime,
    ) -> Conversation:
        keys = ConversationKeys.of(self._prefix, client_id, conversation_id)
        tenant = TenantKeys.of(self._prefix, client_id)
        ttl_ms = ttl_seconds * 1000
        index_args: list[EncodableT] = [
            conversation_id,
            ttl_ms + TURN_ALLOWANCE_SECONDS * 1000,
            INDEX_PRUNE_SLACK_MS,
        ]
        create_args: list[EncodableT] = [
            ttl_ms,
            at.isoformat(),
            orjson.dumps(dict(metadata)),
            max((m.seq for m in messages), default=0),
            self._policy.max_messages,
            *map(encode, messages),
        ]
        with self._policy.outage.watch():
            # Indexed first, as a turn is: the tenant's deletion must find it.
            indexed, created = await self._scripts.pipelined(
                [
                    (self._scripts.index, list(tenant), index_args),
                    (self._scripts.create, [keys.msgs, keys.meta], create_args),
                ]
            )
            if indexed != INDEXED:
                if created:
                    await self._client.delete(keys.msgs, keys.meta)
                raise NotFound(GONE_DETAIL)
        if not created:
            raise Conflict(TAKEN_DETAIL)
        conversation = await self.get(client_id, conversation_id)
        if conversation is None:  # deleted at once by another request: as if never made
            raise NotFound("conversation not found or expired")
        return conversation

    async def set_metadata(
        self, client_id: UUID, conversation_id: str, metadata: JsonObject
    ) -> Conversation | None:
        keys = ConversationKeys.of(self._prefix, client_id, conversation_id)
        with self._policy.outage.watch():
            if not await self._scripts.set_metadata(
                keys=[keys.meta], args=[orjson.dumps(dict(metadata))]
            ):
                return None
        return await self.get(client_id, conversation_id, recent=0)

    async def remove(self, client_id: UUID, conversation_id: str, seqs: Collection[int]) -> int:
        if not seqs:
            return 0
        keys = ConversationKeys.of(self._prefix, client_id, conversation_id)
        with self._policy.outage.watch():
            removed = await self._scripts.remove(keys=[keys.msgs, keys.meta], args=list(seqs))
        return int(removed)

    async def delete(self, client_id: UUID, conversation_id: str) -> bool:
        keys = ConversationKeys.of(self._prefix, client_id, conversation_id)
        with self._policy.outage.watch():
            return bool(await self._client.delete(keys.msgs, keys.meta))

    async def _indexed(self, tenant: TenantKeys) -> AsyncIterator[list[str]]:
        """The tenant's indexed conversation ids, DELETE_BATCH at a time."""
        batch: list[str] = []
        async for conversation_id, _expiry in self._client.zscan_iter(
            tenant.conversations, count=DELETE_BATCH
        ):
            batch.append(conversation_id)
            if len(batch) >= DELETE_BATCH:
                yield batch
                batch = []
        if batch:
            yield batch

    async def delete_end_user(self, client_id: UUID, end_user: str) -> int:
        """Scan the tenant's index a batch at a time; each batch is one round trip."""
        deleted = 0
        with self._policy.outage.watch():
            async for batch in self._indexed(TenantKeys.of(self._prefix, client_id)):
                calls: list[ScriptCall] = []
                for conversation_id in batch:
                    keys = ConversationKeys.of(self._prefix, client_id, conversation_id)
                    calls.append(
                        (self._scripts.forget_end_user, [keys.msgs, keys.meta], [end_user])
                    )
                deleted += sum(await self._scripts.pipelined(calls))
        return deleted

    async def delete_all(self, client_id: UUID) -> None:
        tenant = TenantKeys.of(self._prefix, client_id)
        with self._policy.outage.watch():
            await self._client.set(tenant.tombstone, 1, ex=TOMBSTONE_SECONDS)
            async for batch in self._indexed(tenant):
                await self._forget(client_id, batch)
            await self._client.delete(tenant.conversations)

    async def _forget(self, client_id: UUID, conversation_ids: Sequence[str]) -> None:
        """Forget these conversations and mark them gone, in one round trip (one per node)."""
        if not conversation_ids:
            return
        calls: list[ScriptCall] = []
        for conversation_id in conversation_ids:
            keys = ConversationKeys.of(self._prefix, client_id, conversation_id)
            # Locks are left to expire: a turn in flight still holds its own.
            calls.append((self._scripts.forget, [keys.msgs, keys.meta], [MARK_MS]))
        await self._scripts.pipelined(calls)
