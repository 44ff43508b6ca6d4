"""Server-side conversation history with a sliding TTL."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Protocol
from uuid import UUID

from fastwrap.domain.model import Conversation, JsonObject, Message


class TurnSlot(Protocol):
    """One turn's hold on a conversation, from reading its history to storing the new turn."""

    conversation: Conversation | None
    """The live conversation as read under the lock; None if unknown or expired."""

    async def commit(
        self,
        character_id: UUID,
        messages: Sequence[Message],
        *,
        end_user: str | None = None,
    ) -> datetime:
        """Append `messages` atomically (a user message and its reply; for a conversation that
        is new, the history it starts from before them), slide the TTL and give the lock back.

        The messages come numbered (`seq`) by the caller, which read `last_seq` under the lock.
        A new conversation is bound to `character_id` and to `end_user`; one created empty is
        bound by its first commit. Raises Conflict (storing nothing) if the conversation is
        bound to another character, or to another end user while `end_user` is given; and
        NotFound("client not found") (storing nothing) if the tenant was deleted
        (`delete_all`) since the turn began. Returns the new expiry. At most once per slot.
        """
        ...


class ConversationStore(Protocol):
    """Conversations keyed by (tenant, conversation id), each bound to one character."""

    async def get(
        self, client_id: UUID, conversation_id: str, *, recent: int | None = None
    ) -> Conversation | None:
        """The live conversation, or None if unknown or expired.

        With `recent`, its `messages` are only its last `recent` ones (none for 0): a turn
        needs the tail of a conversation that may hold up to CONVERSATION_MAX_MESSAGES.
        """
        ...

    def turn(
        self, client_id: UUID, conversation_id: str, ttl_seconds: int, *, recent: int | None = None
    ) -> AbstractAsyncContextManager[TurnSlot]:
        """Hold the conversation for one turn: turns on it are serialised, others are not.

        Entering takes the lock (raising Busy if it is not had in time, NotFound if the
        tenant was deleted) and reads the conversation (only its last `recent` messages, as
        `get` does); `commit` stores the turn, which keeps the conversation `ttl_seconds` from
        then. Leaving without a commit, by an exception or otherwise, stores nothing and gives
        the lock back.
        """
        ...

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
        """A new conversation bound to no character yet, holding `messages` (numbered from 1).

        Conflict if a live one has that id; NotFound("client not found") if the tenant was
        deleted.
        """
        ...

    async def set_metadata(
        self, client_id: UUID, conversation_id: str, metadata: JsonObject
    ) -> Conversation | None:
        """Replace a live conversation's metadata (its TTL is unchanged); None if unknown. The
        answer carries no messages."""
        ...

    async def remove(self, client_id: UUID, conversation_id: str, seqs: Collection[int]) -> int:
        """Remove the messages numbered `seqs` from a live conversation; how many were there."""
        ...

    async def delete(self, client_id: UUID, conversation_id: str) -> bool: ...

    async def delete_end_user(self, client_id: UUID, end_user: str) -> int:
        """Delete every live conversation of the tenant bound to `end_user` (an erasure
        request); how many there were."""
        ...

    async def delete_all(self, client_id: UUID) -> None:
        """Forget every conversation of a tenant, for good: the tenant is being deleted.

        Deletion wins against the tenant's turns in flight: one that commits afterwards stores
        nothing and raises NotFound("client not found") (the request was authenticated by a
        key that is now dead, and its account is gone), and so does entering a new turn.
        Nothing of the tenant is findable afterwards. A tenant is never undeleted: the store
        remembers the deletion for at least as long as any turn can last (a week).
        """
        ...
