"""One turn on a Redis conversation: it owns the conversation's keys and lock, reads it, stores.

When the lock is free a turn costs two round trips: one pipeline that indexes the conversation
under its tenant and, in the conversation's slot, takes the lock and reads the history; then one
script that gives the lock back and stores the turn, sliding the TTL. Indexing comes first: an
index entry without a conversation is harmless, the reverse would let delete_all miss one.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import orjson
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.typing import EncodableT

from fastwrap.adapters.redis.client import Outage, describe
from fastwrap.adapters.redis.lock import Backoff, Watchdog, new_token
from fastwrap.adapters.redis.scripts import (
    ALL,
    BUSY,
    GONE,
    INDEXED,
    OTHER_CHARACTER,
    OTHER_END_USER,
    ConversationKeys,
    ScriptCall,
    Scripts,
    TenantKeys,
)
from fastwrap.domain.errors import CharacterMismatch, EndUserMismatch, NotFound
from fastwrap.domain.model import Conversation, Message, Usage
from fastwrap.ports.clock import Clock
from fastwrap.ports.conversations import TurnSlot

log = logging.getLogger("fastwrap.redis")

WHAT = "conversation store"
CONFLICT_DETAIL = "conversation_id belongs to another character"
END_USER_DETAIL = "conversation_id belongs to another end user"
GONE_DETAIL = "client not found"
INDEX_PRUNE_SLACK_MS = 60_000  # cluster nodes' clocks may differ a little
# A turn is indexed before it runs, so its entry must outlast the conversation by the turn's
# length; a turn longer than this (none should be) indexes again before it is stored.
TURN_ALLOWANCE_SECONDS = 600


@dataclass(frozen=True, slots=True)
class TurnPolicy:
    """What every turn of one store shares."""

    scripts: Scripts
    clock: Clock
    prefix: str
    lock_wait_seconds: float
    lock_ttl_ms: int
    max_messages: int
    # One log line per Redis outage for the whole store, not one per turn that meets it.
    outage: Outage


def encode(message: Message) -> bytes:
    """A message as stored: short keys, and the optional ones only when they are set."""
    data: dict[str, Any] = {
        "role": message.role,
        "content": message.content,
        "at": message.created_at.isoformat(),
        "n": message.seq,
    }
    if message.usage is not None:
        data["u"] = [message.usage.input_tokens, message.usage.output_tokens]
    if message.details is not None:
        data["d"] = message.details
    return orjson.dumps(data)


def decode(raw: str) -> Message:
    data = orjson.loads(raw)
    usage = data.get("u")
    return Message(
        role=data["role"],
        content=data["content"],
        created_at=datetime.fromisoformat(data["at"]),
        seq=data.get("n", 0),  # stored before messages were numbered: 0
        usage=Usage(input_tokens=usage[0], output_tokens=usage[1]) if usage else None,
        details=data.get("d"),
    )


def conversation_from(
    found: Sequence[Any], client_id: UUID, conversation_id: str, clock: Clock
) -> Conversation | None:
    """The conversation from what READ (or TAKE_AND_READ) answered."""
    if not found:
        return None
    character, pttl, raw_messages, end_user, metadata, created, seq = found
    now = clock.now()
    return Conversation(
        id=conversation_id,
        client_id=client_id,
        character_id=UUID(character) if character else None,
        messages=tuple(decode(raw) for raw in raw_messages),
        expires_at=now + timedelta(milliseconds=max(0, int(pttl))),
        end_user=end_user or None,
        metadata=_metadata(metadata),
        created_at=datetime.fromisoformat(created) if created else None,
        last_seq=int(seq or 0),
    )


def _metadata(raw: str | None) -> Mapping[str, Any]:
    return orjson.loads(raw) if raw else {}


class RedisTurn(TurnSlot):
    """A turn holding its conversation's lock, from `acquire` to `release`."""

    def __init__(
        self,
        policy: TurnPolicy,
        client_id: UUID,
        conversation_id: str,
        ttl_seconds: int,
        recent: int | None,
    ) -> None:
        self._policy = policy
        self._scripts = policy.scripts
        self._keys = ConversationKeys.of(policy.prefix, client_id, conversation_id)
        self._tenant = TenantKeys.of(policy.prefix, client_id)
        self._client_id = client_id
        self._conversation_id = conversation_id
        self._ttl_seconds = ttl_seconds
        self._recent = ALL if recent is None else recent
        self._token = new_token()
        self._loop = asyncio.get_running_loop()
        self._started = self._loop.time()
        self._open = False  # may commit
        self._holding = False  # the lock may still be ours to give back
        self._watchdog: Watchdog | None = None
        self.conversation: Conversation | None = None

    async def acquire(self) -> None:
        """Take the lock and read the conversation; Busy if the lock is not had in time.

        NotFound if the tenant was deleted (delete_all): it indexes no conversation any more.
        Whatever it raises, `release` afterwards gives back what it took.
        """
        with self._policy.outage.watch():
            found = await self._index_and_take()
            backoff = Backoff(self._policy.lock_wait_seconds)
            while found == BUSY:
                await backoff.pause()
                script, keys, args = self._take_call()
                found = await script(keys=keys, args=args)
        self._holding = True
        self.conversation = conversation_from(
            found, self._client_id, self._conversation_id, self._policy.clock
        )
        self._watchdog = Watchdog(
            self._scripts.extend, self._keys.lock, self._token, self._policy.lock_ttl_ms
        )
        self._open = True

    async def commit(
        self,
        character_id: UUID,
        messages: Sequence[Message],
        *,
        end_user: str | None = None,
    ) -> datetime:
        if not self._open:
            raise RuntimeError("a turn commits at most once, and only while it holds the lock")
        self._open = False
        with self._policy.outage.watch():
            if self._loop.time() - self._started > TURN_ALLOWANCE_SECONDS:
                await self._index_again()
            outcome, released = await self._scripts.commit(
                keys=list(self._keys), args=self._commit_args(character_id, messages, end_user)
            )
        self._holding = False  # given back, or taken by another turn since: not ours either way
        if not released:
            log.warning("a conversation lock expired before its turn was stored")
        if outcome == GONE:
            raise NotFound(GONE_DETAIL)
        if outcome == OTHER_CHARACTER:
            raise CharacterMismatch(CONFLICT_DETAIL)
        if outcome == OTHER_END_USER:
            raise EndUserMismatch(END_USER_DETAIL)
        return self._policy.clock.now() + timedelta(seconds=self._ttl_seconds)

    async def release(self) -> None:
        """End the turn: stop extending the lock, and give it back unless the commit did."""
        self._open = False
        if self._watchdog is not None:
            self._watchdog.stop()
        if self._holding:
            await self._give_back()

    async def _index_and_take(self) -> Any:
        """The first try: index the conversation, take the lock and read, in one pipeline."""
        try:
            indexed, found = await self._scripts.pipelined([self._index_call(), self._take_call()])
        except RedisError as exc:
            if not isinstance(exc, RedisConnectionError | RedisTimeoutError):
                # Redis answered, so the take may have worked though the index did not.
                await self._give_back()
            raise
        if indexed != INDEXED:
            if found != BUSY:
                await self._give_back()
            raise NotFound(GONE_DETAIL)
        return found

    async def _index_again(self) -> None:
        script, keys, args = self._index_call()
        if await script(keys=keys, args=args) != INDEXED:
            raise NotFound(GONE_DETAIL)

    def _index_call(self) -> ScriptCall:
        ttl_ms = (self._ttl_seconds + TURN_ALLOWANCE_SECONDS) * 1000
        args: list[EncodableT] = [self._conversation_id, ttl_ms, INDEX_PRUNE_SLACK_MS]
        return self._scripts.index, list(self._tenant), args

    def _take_call(self) -> ScriptCall:
        args: list[EncodableT] = [self._token, self._policy.lock_ttl_ms, self._recent]
        return self._scripts.take_and_read, list(self._keys), args

    def _commit_args(
        self, character_id: UUID, messages: Sequence[Message], end_user: str | None
    ) -> list[EncodableT]:
        return [
            str(character_id),
            self._ttl_seconds * 1000,
            self._policy.max_messages,
            secrets.token_hex(16),  # the turn's id, so a retried commit stores it once
            self._token,
            end_user or "",
            max(m.seq for m in messages),
            self._policy.clock.now().isoformat(),
            *map(encode, messages),
        ]

    async def _give_back(self) -> None:
        self._holding = False
        try:
            await self._scripts.release(keys=[self._keys.lock], args=[self._token])
        except Exception as exc:  # the lock expires by itself; the turn is done
            log.warning("could not release a conversation lock: %s", describe(exc))
