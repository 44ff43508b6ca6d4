"""Conversations in Redis, shared by every replica (SPEC §6.2).

Layout, under the key prefix (default `fw:`); the `{...}` hash tag keeps one conversation in one
cluster slot, so its scripts may touch all of its keys:

    fw:{<tenant>:<conversation>}:msgs   list of JSON messages, oldest first
    fw:{<tenant>:<conversation>}:meta   hash: bound character, id of the last stored turn
    fw:{<tenant>:<conversation>}:lock   the turn lock (see lock.py)
    fw:tenant:{<tenant>}:convs          sorted set: the tenant's conversation ids by expiry (ms)

Both conversation keys get the same TTL in the same script, so they expire together. The tenant
index lives in another slot, so it is updated by its own command; it only serves delete_all, and
it prunes itself and expires with its longest-lived conversation.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import orjson

from fastwrap.adapters.redis.client import (
    DEFAULT_KEY_PREFIX,
    RedisClient,
    checked_prefix,
    unavailable,
)
from fastwrap.adapters.redis.lock import RedisLock
from fastwrap.domain.errors import Conflict
from fastwrap.domain.model import Conversation, Message
from fastwrap.ports.clock import Clock
from fastwrap.ports.conversations import ConversationStore

WHAT = "conversation store"
CONFLICT_DETAIL = "conversation_id belongs to another character"
DELETE_BATCH = 500
INDEX_PRUNE_SLACK_MS = 60_000  # cluster nodes' clocks may differ a little

# A retried call (the reply was lost, the script ran) finds its turn id and stores nothing twice.
APPEND = """
local bound = redis.call('HGET', KEYS[2], 'character')
if bound and bound ~= ARGV[1] then return 0 end
if not bound then redis.call('DEL', KEYS[1]) end
if redis.call('HGET', KEYS[2], 'turn') ~= ARGV[4] then
  redis.call('HSET', KEYS[2], 'character', ARGV[1], 'turn', ARGV[4])
  redis.call('RPUSH', KEYS[1], ARGV[5], ARGV[6])
  redis.call('LTRIM', KEYS[1], -tonumber(ARGV[3]), -1)
end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return 1
"""

READ = """
local character = redis.call('HGET', KEYS[2], 'character')
if not character then return {} end
return {character, redis.call('PTTL', KEYS[2]), redis.call('LRANGE', KEYS[1], 0, -1)}
"""

INDEX = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. (now - tonumber(ARGV[3])))
if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
return 1
"""


def encode(message: Message) -> bytes:
    return orjson.dumps(
        {"role": message.role, "content": message.content, "at": message.created_at.isoformat()}
    )


def decode(raw: str) -> Message:
    data = orjson.loads(raw)
    return Message(
        role=data["role"], content=data["content"], created_at=datetime.fromisoformat(data["at"])
    )


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
        self._max_messages = max_messages
        self._append = client.register_script(APPEND)
        self._read = client.register_script(READ)
        self._index = client.register_script(INDEX)
        self._lock = RedisLock(
            client, wait_seconds=lock_wait_seconds, ttl_seconds=lock_ttl_seconds, what=WHAT
        )

    def _base(self, client_id: UUID, conversation_id: str) -> str:
        """The three keys of a conversation are this plus :msgs, :meta and :lock."""
        return f"{self._prefix}{{{client_id}:{conversation_id}}}"

    def _index_key(self, client_id: UUID) -> str:
        return f"{self._prefix}tenant:{{{client_id}}}:convs"

    async def get(self, client_id: UUID, conversation_id: str) -> Conversation | None:
        base = self._base(client_id, conversation_id)
        with unavailable(WHAT):
            found: Sequence[Any] = await self._read(keys=[f"{base}:msgs", f"{base}:meta"])
        if not found:
            return None
        character, pttl, raw_messages = found
        return Conversation(
            id=conversation_id,
            client_id=client_id,
            character_id=UUID(character),
            messages=tuple(decode(raw) for raw in raw_messages),
            expires_at=self._clock.now() + timedelta(milliseconds=max(0, int(pttl))),
        )

    async def append_turn(
        self,
        client_id: UUID,
        conversation_id: str,
        character_id: UUID,
        turn: tuple[Message, Message],
        ttl_seconds: int,
    ) -> datetime:
        base = self._base(client_id, conversation_id)
        ttl_ms = ttl_seconds * 1000
        turn_id = secrets.token_hex(16)
        args: list[str | int | bytes] = [str(character_id), ttl_ms, self._max_messages, turn_id]
        with unavailable(WHAT):
            # Indexed first: an index entry without a conversation is harmless, the reverse
            # would let delete_all miss a conversation.
            await self._index(
                keys=[self._index_key(client_id)],
                args=[conversation_id, ttl_ms, INDEX_PRUNE_SLACK_MS],
            )
            stored = await self._append(
                keys=[f"{base}:msgs", f"{base}:meta"], args=[*args, *map(encode, turn)]
            )
        if not stored:
            raise Conflict(CONFLICT_DETAIL)
        return self._clock.now() + timedelta(seconds=ttl_seconds)

    async def delete(self, client_id: UUID, conversation_id: str) -> bool:
        base = self._base(client_id, conversation_id)
        with unavailable(WHAT):
            removed = await self._client.delete(f"{base}:msgs", f"{base}:meta")
            await self._client.zrem(self._index_key(client_id), conversation_id)
        return bool(removed)

    async def delete_all(self, client_id: UUID) -> None:
        index = self._index_key(client_id)
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
            base = self._base(client_id, conversation_id)
            # Locks are left to expire: a turn in flight still holds its own.
            pipe.delete(f"{base}:msgs", f"{base}:meta")
        await pipe.execute()

    def lock(self, client_id: UUID, conversation_id: str) -> AbstractAsyncContextManager[None]:
        return self._lock.hold(f"{self._base(client_id, conversation_id)}:lock")
