"""Server-side conversation history with a sliding TTL."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Protocol
from uuid import UUID

from fastwrap.domain.model import Conversation, Message


class TurnSlot(Protocol):
    """One turn's hold on a conversation, from reading its history to storing the new turn."""

    conversation: Conversation | None
    """The live conversation as read under the lock; None if unknown or expired."""

    async def commit(self, character_id: UUID, turn: tuple[Message, Message]) -> datetime:
        """Append a user message and its reply atomically, slide the TTL and give the lock back.

        Creates the conversation if it is unknown or expired. Raises Conflict (storing nothing)
        if it is bound to another character, and NotFound("client not found") (storing
        nothing) if the tenant was deleted (`delete_all`) since the turn began. Returns the new
        expiry. At most once per slot.
        """


class ConversationStore(Protocol):
    """Conversations keyed by (tenant, conversation id), each bound to one character."""

    async def get(
        self, client_id: UUID, conversation_id: str, *, recent: int | None = None
    ) -> Conversation | None:
        """The live conversation, or None if unknown or expired.

        With `recent`, its `messages` are only its last `recent` ones (none for 0): a turn
        needs the tail of a conversation that may hold up to CONVERSATION_MAX_MESSAGES.
        """

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

    async def delete(self, client_id: UUID, conversation_id: str) -> bool: ...

    async def delete_all(self, client_id: UUID) -> None:
        """Forget every conversation of a tenant, for good: the tenant is being deleted.

        Deletion wins against the tenant's turns in flight: one that commits afterwards stores
        nothing and raises NotFound("client not found") (the request was authenticated by a
        key that is now dead, and its account is gone), and so does entering a new turn.
        Nothing of the tenant is findable afterwards. A tenant is never undeleted: the store
        remembers the deletion for at least as long as any turn can last (a week).
        """
