"""Conversations in Redis, shared by every replica (SPEC §6.2).

The keys and every script are in scripts.py; a turn, which owns its keys and its lock, is in
turn.py. One conversation's keys share a cluster slot, so each of its scripts is atomic. Both
conversation keys get the same TTL in the same script, so they expire together. The tenant index
lives in another slot, so it is updated by its own script; it only serves delete_all, and it
prunes itself and expires with its longest-lived conversation.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any
from uuid import UUID

from fastwrap.adapters.redis.client import (
    DEFAULT_KEY_PREFIX,
    RedisClient,
    checked_prefix,
    unavailable,
)
from fastwrap.adapters.redis.scripts import ALL, ConversationKeys, Scripts, index_key
from fastwrap.adapters.redis.turn import WHAT, RedisTurn, TurnPolicy, conversation_from
from fastwrap.domain.model import Conversation
from fastwrap.ports.clock import Clock
from fastwrap.ports.conversations import ConversationStore, TurnSlot

DELETE_BATCH = 500


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
        )

    async def get(
        self, client_id: UUID, conversation_id: str, *, recent: int | None = None
    ) -> Conversation | None:
        keys = ConversationKeys.of(self._prefix, client_id, conversation_id)
        count = ALL if recent is None else recent
        with unavailable(WHAT):
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

    async def delete(self, client_id: UUID, conversation_id: str) -> bool:
        keys = ConversationKeys.of(self._prefix, client_id, conversation_id)
        with unavailable(WHAT):
            removed = await self._client.delete(keys.msgs, keys.meta)
            await self._client.zrem(index_key(self._prefix, client_id), conversation_id)
        return bool(removed)

    async def delete_all(self, client_id: UUID) -> None:
        index = index_key(self._prefix, client_id)
        with unavailable(WHAT):
            batch: list[str] = []
            async for conversation_id, _expiry in self._client.zscan_iter(
                index, count=DELETE_BATCH
            ):
                batch.append(conversation_id)
                if len(batch) >= DELETE_BATCH:
                    await self._forget(client_id, batch)
                    batch = []
            await self._forget(client_id, batch)
            await self._client.delete(index)

    async def _forget(self, client_id: UUID, conversation_ids: Sequence[str]) -> None:
        if not conversation_ids:
            return
        pipe = self._client.pipeline(transaction=False)
        for conversation_id in conversation_ids:
            keys = ConversationKeys.of(self._prefix, client_id, conversation_id)
            # Locks are left to expire: a turn in flight still holds its own.
            pipe.delete(keys.msgs, keys.meta)
        await pipe.execute()
