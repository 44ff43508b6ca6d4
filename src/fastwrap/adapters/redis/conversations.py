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

A turn costs two round trips when the lock is free: one pipeline that indexes the conversation
and, in one script, takes the lock and reads the history; then one script that stores the turn,
slides the TTL and gives the lock back. Indexing comes first: an index entry without a
conversation is harmless, the reverse would let delete_all miss a conversation.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any, NamedTuple
from uuid import UUID

import orjson
from redis.asyncio.client import Pipeline
from redis.asyncio.cluster import ClusterPipeline
from redis.commands.core import AsyncScript
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.typing import EncodableT

from fastwrap.adapters.redis.client import (
    DEFAULT_KEY_PREFIX,
    RedisClient,
    checked_prefix,
    unavailable,
)
from fastwrap.adapters.redis.lock import RedisLock, new_token
from fastwrap.domain.errors import Conflict
from fastwrap.domain.model import Conversation, Message
from fastwrap.ports.clock import Clock
from fastwrap.ports.conversations import ConversationStore, TurnSlot

log = logging.getLogger("fastwrap.redis")

WHAT = "conversation store"
CONFLICT_DETAIL = "conversation_id belongs to another character"
DELETE_BATCH = 500
INDEX_PRUNE_SLACK_MS = 60_000  # cluster nodes' clocks may differ a little
# A turn is indexed before it runs, so its entry must outlast the conversation by the turn's
# length; a turn longer than this (none should be) indexes again before it is stored.
TURN_ALLOWANCE_SECONDS = 600


def _read(recent: str) -> str:
    """Reads the conversation (its last `recent` messages; every one for ALL), or nothing if it
    is unknown or expired. KEYS msgs, meta."""
    return f"""
local character = redis.call('HGET', KEYS[2], 'character')
if not character then return {{}} end
local recent = tonumber({recent})
local messages = {{}}
if recent < 0 then messages = redis.call('LRANGE', KEYS[1], 0, -1)
elseif recent > 0 then messages = redis.call('LRANGE', KEYS[1], -recent, -1) end
return {{character, redis.call('PTTL', KEYS[2]), messages}}
"""


ALL = -1
# KEYS msgs, meta; ARGV how many recent messages (ALL for every one).
READ = _read("ARGV[1]")

# KEYS msgs, meta, lock; ARGV token, lock TTL (ms), how many recent messages. BUSY unless the
# lock is free or ours (ours: a call retried after its reply was lost), else READ under the lock.
BUSY = 0
TAKE_AND_READ = f"""
local holder = redis.call('GET', KEYS[3])
if holder and holder ~= ARGV[1] then return {BUSY} end
redis.call('SET', KEYS[3], ARGV[1], 'PX', ARGV[2])
""" + _read("ARGV[3]")

# KEYS msgs, meta, lock; ARGV character, TTL (ms), max messages, turn id, token, the two messages.
# Returns {stored, released}. A retried call (the reply was lost, the script ran) finds its turn
# id and stores nothing twice. The lock is given back (if still ours) whatever the outcome.
COMMIT = """
local released = 0
if redis.call('GET', KEYS[3]) == ARGV[5] then released = redis.call('DEL', KEYS[3]) end
local bound = redis.call('HGET', KEYS[2], 'character')
if bound and bound ~= ARGV[1] then return {0, released} end
if not bound then redis.call('DEL', KEYS[1]) end
if redis.call('HGET', KEYS[2], 'turn') ~= ARGV[4] then
  redis.call('HSET', KEYS[2], 'character', ARGV[1], 'turn', ARGV[4])
  redis.call('RPUSH', KEYS[1], ARGV[6], ARGV[7])
  redis.call('LTRIM', KEYS[1], -tonumber(ARGV[3]), -1)
end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return {1, released}
"""

# KEYS the tenant index; ARGV conversation id, TTL (ms), prune slack (ms).
INDEX = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. (now - tonumber(ARGV[3])))
if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
return 1
"""

type ScriptCall = tuple[AsyncScript, list[str], list[EncodableT]]


class _Keys(NamedTuple):
    msgs: str
    meta: str
    lock: str


def encode(message: Message) -> bytes:
    return orjson.dumps(
        {"role": message.role, "content": message.content, "at": message.created_at.isoformat()}
    )


def decode(raw: str) -> Message:
    data = orjson.loads(raw)
    return Message(
        role=data["role"], content=data["content"], created_at=datetime.fromisoformat(data["at"])
    )


class _RedisTurn(TurnSlot):
    """A turn holding its conversation's lock, from the read to the commit."""

    def __init__(
        self,
        store: RedisConversationStore,
        keys: _Keys,
        client_id: UUID,
        conversation_id: str,
        ttl_seconds: int,
        recent: int | None,
    ) -> None:
        self._store = store
        self.keys = keys
        self.client_id = client_id
        self.conversation_id = conversation_id
        self.ttl_seconds = ttl_seconds
        self.recent = ALL if recent is None else recent
        self.token = new_token()
        self.conversation: Conversation | None = None
        self.started = asyncio.get_running_loop().time()
        self.open = True
        self.released = False

    async def commit(self, character_id: UUID, turn: tuple[Message, Message]) -> datetime:
        if not self.open:
            raise RuntimeError("a turn commits at most once, and only while it holds the lock")
        self.open = False
        return await self._store._commit(self, character_id, turn)


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
        self._read = client.register_script(READ)
        self._take_and_read = client.register_script(TAKE_AND_READ)
        self._commit_script = client.register_script(COMMIT)
        self._index = client.register_script(INDEX)
        self._lock = RedisLock(
            client, wait_seconds=lock_wait_seconds, ttl_seconds=lock_ttl_seconds, what=WHAT
        )

    def _keys(self, client_id: UUID, conversation_id: str) -> _Keys:
        base = f"{self._prefix}{{{client_id}:{conversation_id}}}"
        return _Keys(f"{base}:msgs", f"{base}:meta", f"{base}:lock")

    def _index_key(self, client_id: UUID) -> str:
        return f"{self._prefix}tenant:{{{client_id}}}:convs"

    def _index_call(self, turn: _RedisTurn) -> ScriptCall:
        ttl_ms = (turn.ttl_seconds + TURN_ALLOWANCE_SECONDS) * 1000
        args: list[EncodableT] = [turn.conversation_id, ttl_ms, INDEX_PRUNE_SLACK_MS]
        return self._index, [self._index_key(turn.client_id)], args

    def _conversation(
        self, client_id: UUID, conversation_id: str, found: Sequence[Any]
    ) -> Conversation | None:
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

    async def get(
        self, client_id: UUID, conversation_id: str, *, recent: int | None = None
    ) -> Conversation | None:
        keys = self._keys(client_id, conversation_id)
        count = ALL if recent is None else recent
        with unavailable(WHAT):
            found: Sequence[Any] = await self._read(keys=[keys.msgs, keys.meta], args=[count])
        return self._conversation(client_id, conversation_id, found)

    @asynccontextmanager
    async def turn(
        self, client_id: UUID, conversation_id: str, ttl_seconds: int, *, recent: int | None = None
    ) -> AsyncIterator[TurnSlot]:
        keys = self._keys(client_id, conversation_id)
        held = _RedisTurn(self, keys, client_id, conversation_id, ttl_seconds, recent)
        with unavailable(WHAT):
            found = await self._lock.take(
                lambda: self._index_and_take(held), lambda: self._take(held)
            )
        held.conversation = self._conversation(client_id, conversation_id, found)
        watchdog = self._lock.keep(keys.lock, held.token)
        try:
            yield held
        finally:
            held.open = False
            watchdog.stop()
            if not held.released:
                await self._lock.give_back(keys.lock, held.token)

    def _take_call(self, turn: _RedisTurn) -> ScriptCall:
        args: list[EncodableT] = [turn.token, self._lock.ttl_ms, turn.recent]
        return self._take_and_read, list(turn.keys), args

    async def _index_and_take(self, turn: _RedisTurn) -> Sequence[Any] | None:
        """The first try: index the conversation, take the lock and read, in one pipeline."""
        try:
            _indexed, found = await self._pipelined(self._index_call(turn), self._take_call(turn))
        except RedisError as exc:
            if not isinstance(exc, RedisConnectionError | RedisTimeoutError):
                # Redis answered, so the take may have worked though the index did not.
                await self._lock.give_back(turn.keys.lock, turn.token)
            raise
        return None if found == BUSY else found

    async def _take(self, turn: _RedisTurn) -> Sequence[Any] | None:
        """A later try: the conversation is indexed already."""
        script, keys, args = self._take_call(turn)
        found = await script(keys=keys, args=args)
        return None if found == BUSY else found

    async def _commit(
        self, turn: _RedisTurn, character_id: UUID, messages: tuple[Message, Message]
    ) -> datetime:
        args: list[EncodableT] = [
            str(character_id),
            turn.ttl_seconds * 1000,
            self._max_messages,
            secrets.token_hex(16),
            turn.token,
            *map(encode, messages),
        ]
        with unavailable(WHAT):
            if asyncio.get_running_loop().time() - turn.started > TURN_ALLOWANCE_SECONDS:
                index, index_keys, index_args = self._index_call(turn)
                await index(keys=index_keys, args=index_args)
            stored, released = await self._commit_script(keys=list(turn.keys), args=args)
        turn.released = True  # or taken by another turn since: either way not ours to give back
        if not released:
            log.warning("a conversation lock expired before its turn was stored")
        if not stored:
            raise Conflict(CONFLICT_DETAIL)
        return self._clock.now() + timedelta(seconds=turn.ttl_seconds)

    async def _pipelined(self, *calls: ScriptCall) -> list[Any]:
        """Run scripts by SHA in one pipeline: one round trip (on a cluster, one per node, at once).

        redis-py's Script objects would ask SCRIPT EXISTS before every pipeline. Instead, when
        Redis lacks a script (a restart, SCRIPT FLUSH, a new node), load them and try once more;
        every script here may run twice.
        """
        try:
            return await self._pipeline(calls).execute()
        except NoScriptError:
            for script, _keys, _args in calls:
                script.sha = await self._client.script_load(script.script)
        return await self._pipeline(calls).execute()

    def _pipeline(self, calls: Sequence[ScriptCall]) -> Pipeline | ClusterPipeline:
        pipe = self._client.pipeline(transaction=False)
        for script, keys, args in calls:
            pipe.execute_command("EVALSHA", script.sha, len(keys), *keys, *args)
        return pipe

    async def delete(self, client_id: UUID, conversation_id: str) -> bool:
        keys = self._keys(client_id, conversation_id)
        with unavailable(WHAT):
            removed = await self._client.delete(keys.msgs, keys.meta)
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
            keys = self._keys(client_id, conversation_id)
            # Locks are left to expire: a turn in flight still holds its own.
            pipe.delete(keys.msgs, keys.meta)
        await pipe.execute()
