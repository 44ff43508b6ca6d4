"""Conversations in this process: the embedded default, with the same semantics as Redis.

Expiry follows the injected clock. Expired conversations are dropped when touched and by a sweep
that runs at most once a minute of clock time, or sooner when the store has doubled in size since
the last sweep, so the cost stays amortised O(1) per write and memory follows the live set.

A deleted tenant (delete_all) is remembered for a week, as the Redis store's tombstone is: its
turns in flight store nothing when they commit, and new ones are refused on entering.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Collection, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID

from fastwrap.domain.errors import Busy, CharacterMismatch, Conflict, EndUserMismatch, NotFound
from fastwrap.domain.model import Conversation, JsonObject, Message
from fastwrap.ports.clock import Clock
from fastwrap.ports.conversations import ConversationStore, TurnSlot

SWEEP_EVERY = timedelta(seconds=60)
BUSY_DETAIL = "another turn on this conversation is still running; try again shortly"
CONFLICT_DETAIL = "conversation_id belongs to another character"
END_USER_DETAIL = "conversation_id belongs to another end user"
TAKEN_DETAIL = "a conversation with this id exists"
GONE_DETAIL = "client not found"
TOMBSTONE = timedelta(days=7)  # the longest conversation TTL (SPEC §6.1), as in Redis


@dataclass(slots=True)
class _Entry:
    character_id: UUID | None
    end_user: str | None
    messages: list[Message]
    expires_at: datetime
    created_at: datetime
    metadata: JsonObject = field(default_factory=dict)
    last_seq: int = 0


@dataclass(slots=True)
class _LockSlot:
    """A lock and how many turns hold or wait for it, so a free lock can be forgotten."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    users: int = 0


class _InMemoryTurn(TurnSlot):
    """A turn holding its conversation's in-process lock, which the store gives back on exit."""

    def __init__(
        self,
        store: InMemoryConversationStore,
        client_id: UUID,
        conversation_id: str,
        ttl_seconds: int,
        recent: int | None,
    ) -> None:
        self._store = store
        self._key = (client_id, conversation_id)
        self._ttl_seconds = ttl_seconds
        self.open = True
        self.conversation = store._read(client_id, conversation_id, recent)

    async def commit(
        self,
        character_id: UUID,
        messages: Sequence[Message],
        *,
        end_user: str | None = None,
    ) -> datetime:
        if not self.open:
            raise RuntimeError("a turn commits at most once, and only while it holds the lock")
        self.open = False
        # No await between the check and the write: the event loop makes this atomic.
        return self._store._append(*self._key, character_id, end_user, messages, self._ttl_seconds)


class InMemoryConversationStore(ConversationStore):
    def __init__(self, clock: Clock, *, lock_wait_seconds: float, max_messages: int) -> None:
        if max_messages < 2:
            raise ValueError("max_messages must hold at least one turn (2 messages)")
        self._clock = clock
        self._lock_wait = lock_wait_seconds
        self._max_messages = max_messages
        self._tenants: dict[UUID, dict[str, _Entry]] = {}
        self._locks: dict[tuple[UUID, str], _LockSlot] = {}
        self._deleted: dict[UUID, datetime] = {}  # tenant -> until when it is remembered
        self._count = 0
        self._last_sweep = clock.now()
        self._count_after_sweep = 0

    def _drop(self, client_id: UUID, conversation_id: str) -> None:
        conversations = self._tenants[client_id]
        del conversations[conversation_id]
        self._count -= 1
        if not conversations:
            del self._tenants[client_id]

    def _live(self, client_id: UUID, conversation_id: str, now: datetime) -> _Entry | None:
        entry = self._tenants.get(client_id, {}).get(conversation_id)
        if entry is not None and entry.expires_at <= now:
            self._drop(client_id, conversation_id)
            return None
        return entry

    async def get(
        self, client_id: UUID, conversation_id: str, *, recent: int | None = None
    ) -> Conversation | None:
        return self._read(client_id, conversation_id, recent)

    def _read(
        self, client_id: UUID, conversation_id: str, recent: int | None
    ) -> Conversation | None:
        entry = self._live(client_id, conversation_id, self._clock.now())
        if entry is None:
            return None
        messages = entry.messages if recent is None else entry.messages[-recent:] if recent else []
        return _conversation(client_id, conversation_id, entry, messages)

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
        now = self._clock.now()
        self._check_not_deleted(client_id)
        if self._live(client_id, conversation_id, now) is not None:
            raise Conflict(TAKEN_DETAIL)
        entry = _Entry(
            character_id=None,
            end_user=None,
            messages=list(messages[-self._max_messages :]),
            expires_at=now + timedelta(seconds=ttl_seconds),
            created_at=at,
            metadata=dict(metadata),
            last_seq=max((m.seq for m in messages), default=0),
        )
        self._tenants.setdefault(client_id, {})[conversation_id] = entry
        self._count += 1
        return _conversation(client_id, conversation_id, entry, entry.messages)

    async def set_metadata(
        self, client_id: UUID, conversation_id: str, metadata: JsonObject
    ) -> Conversation | None:
        entry = self._live(client_id, conversation_id, self._clock.now())
        if entry is None:
            return None
        entry.metadata = dict(metadata)
        return _conversation(client_id, conversation_id, entry, [])

    async def remove(self, client_id: UUID, conversation_id: str, seqs: Collection[int]) -> int:
        entry = self._live(client_id, conversation_id, self._clock.now())
        if entry is None:
            return 0
        kept = [m for m in entry.messages if m.seq not in seqs]
        removed = len(entry.messages) - len(kept)
        entry.messages = kept
        return removed

    async def delete(self, client_id: UUID, conversation_id: str) -> bool:
        if self._live(client_id, conversation_id, self._clock.now()) is None:
            return False
        self._drop(client_id, conversation_id)
        return True

    async def delete_end_user(self, client_id: UUID, end_user: str) -> int:
        now = self._clock.now()
        theirs = [
            cid
            for cid in list(self._tenants.get(client_id, {}))
            if (entry := self._live(client_id, cid, now)) is not None and entry.end_user == end_user
        ]
        for conversation_id in theirs:
            self._drop(client_id, conversation_id)
        return len(theirs)

    async def delete_all(self, client_id: UUID) -> None:
        self._deleted[client_id] = self._clock.now() + TOMBSTONE
        self._count -= len(self._tenants.pop(client_id, {}))

    def _check_not_deleted(self, client_id: UUID) -> None:
        until = self._deleted.get(client_id)
        if until is not None and self._clock.now() < until:
            raise NotFound(GONE_DETAIL)

    @asynccontextmanager
    async def turn(
        self, client_id: UUID, conversation_id: str, ttl_seconds: int, *, recent: int | None = None
    ) -> AsyncIterator[TurnSlot]:
        self._check_not_deleted(client_id)  # as Redis does, on entering, before the lock
        key = (client_id, conversation_id)
        slot = self._locks.setdefault(key, _LockSlot())
        slot.users += 1
        try:
            try:
                async with asyncio.timeout(self._lock_wait):
                    await slot.lock.acquire()
            except TimeoutError as exc:
                raise Busy(BUSY_DETAIL) from exc
            held = _InMemoryTurn(self, client_id, conversation_id, ttl_seconds, recent)
            try:
                yield held
            finally:
                held.open = False
                slot.lock.release()
        finally:
            slot.users -= 1
            if slot.users == 0:
                del self._locks[key]

    def _append(
        self,
        client_id: UUID,
        conversation_id: str,
        character_id: UUID,
        end_user: str | None,
        messages: Sequence[Message],
        ttl_seconds: int,
    ) -> datetime:
        now = self._clock.now()
        self._maybe_sweep(now)
        self._check_not_deleted(client_id)
        entry = self._live(client_id, conversation_id, now)
        if entry is not None:
            _check_binding(entry, character_id, end_user)
        expires_at = now + timedelta(seconds=ttl_seconds)
        if entry is None:
            entry = _Entry(
                character_id=None,
                end_user=end_user,
                messages=[],
                expires_at=expires_at,
                created_at=now,
            )
            self._tenants.setdefault(client_id, {})[conversation_id] = entry
            self._count += 1
        if entry.character_id is None:  # new, or created empty: its first turn binds it
            entry.character_id = character_id
            entry.end_user = end_user
        entry.messages.extend(messages)
        del entry.messages[: -self._max_messages]
        entry.last_seq = max([entry.last_seq, *(m.seq for m in messages)])
        entry.expires_at = expires_at
        return expires_at

    def approximate_count(self) -> int:
        """Conversations held, at no cost: expired ones count until the next sweep drops them."""
        return self._count

    def _maybe_sweep(self, now: datetime) -> None:
        grown = self._count >= 2 * max(self._count_after_sweep, 512)
        if not grown and now - self._last_sweep < SWEEP_EVERY:
            return
        for client_id, conversations in list(self._tenants.items()):
            for conversation_id, entry in list(conversations.items()):
                if entry.expires_at <= now:
                    self._drop(client_id, conversation_id)
        self._deleted = {tenant: until for tenant, until in self._deleted.items() if until > now}
        self._last_sweep = now
        self._count_after_sweep = self._count


def _check_binding(entry: _Entry, character_id: UUID, end_user: str | None) -> None:
    if entry.character_id is not None and entry.character_id != character_id:
        raise CharacterMismatch(CONFLICT_DETAIL)
    if end_user is not None and entry.character_id is not None and entry.end_user != end_user:
        raise EndUserMismatch(END_USER_DETAIL)


def _conversation(
    client_id: UUID, conversation_id: str, entry: _Entry, messages: Sequence[Message]
) -> Conversation:
    return Conversation(
        id=conversation_id,
        client_id=client_id,
        character_id=entry.character_id,
        messages=tuple(messages),
        expires_at=entry.expires_at,
        end_user=entry.end_user,
        metadata=entry.metadata,
        created_at=entry.created_at,
        last_seq=entry.last_seq,
    )
