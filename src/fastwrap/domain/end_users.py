"""A tenant's end users (SPEC §15): what FastWrap remembers of one, and forgetting all of it."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from fastwrap.domain.memory import MemoryService
from fastwrap.domain.memory_items import MemoryItem
from fastwrap.domain.model import Page, check_end_user
from fastwrap.ports.conversations import ConversationStore
from fastwrap.ports.usage import UsageLedger


@dataclass(frozen=True, slots=True, kw_only=True)
class Erased:
    memory_items: int
    conversations: int
    usage_records: int  # anonymised: still counted, as no one's


class EndUserService:
    def __init__(
        self,
        *,
        memory: MemoryService,
        conversations: ConversationStore,
        usage: UsageLedger,
    ) -> None:
        self._memory = memory
        self._conversations = conversations
        self._usage = usage

    async def memory(
        self, client_id: UUID, end_user: str, cursor: str | None, limit: int
    ) -> Page[MemoryItem]:
        return await self._memory.items(client_id, end_user, cursor, limit)

    async def erase(self, client_id: UUID, end_user: str) -> Erased:
        """Forget the end user: their memory items and conversations are deleted, their usage
        records anonymised. A turn of theirs still in flight may store what it answers after
        this: repeating the request once their sessions are over is harmless."""
        check_end_user(end_user)
        conversations = await self._conversations.delete_end_user(client_id, end_user)
        memory_items = await self._memory.erase(client_id, end_user)
        usage_records = await self._usage.anonymise(client_id, end_user)
        return Erased(
            memory_items=memory_items, conversations=conversations, usage_records=usage_records
        )
