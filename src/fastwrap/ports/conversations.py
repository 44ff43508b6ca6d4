"""Server-side conversation history with a sliding TTL."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Protocol
from uuid import UUID

from fastwrap.domain.model import Conversation, Message


class ConversationStore(Protocol):
    """Conversations keyed by (tenant, conversation id), each bound to one character."""

    async def get(self, client_id: UUID, conversation_id: str) -> Conversation | None:
        """The live conversation, or None if unknown or expired."""

    async def append_turn(
        self,
        client_id: UUID,
        conversation_id: str,
        character_id: UUID,
        turn: tuple[Message, Message],
        ttl_seconds: int,
    ) -> datetime:
        """Append a user message and its reply atomically and slide the TTL.

        Creates the conversation if it is unknown or expired. Raises Conflict if it is bound to
        another character. Returns the new expiry.
        """

    async def delete(self, client_id: UUID, conversation_id: str) -> bool: ...

    async def delete_all(self, client_id: UUID) -> None:
        """Forget every conversation of a tenant (used when the tenant is deleted)."""

    def lock(self, client_id: UUID, conversation_id: str) -> AbstractAsyncContextManager[None]:
        """Serialise turns on one conversation; raise Busy if the lock is not had in time."""
        ...
