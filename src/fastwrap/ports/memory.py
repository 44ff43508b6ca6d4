"""Memory items (SPEC §15): the outbox of stored turns, their vectors, recall and erasure."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol
from uuid import UUID

from fastwrap.domain.memory_items import MemoryHit, MemoryItem, MemoryQuery
from fastwrap.domain.pagination import Cursor

MAX_ATTEMPTS = 5  # embedding tries before an item is given up on (it stays listed)


class MemoryStore(Protocol):
    async def add(self, items: Sequence[MemoryItem]) -> None:
        """Store the items, unembedded, all or none; an id stored already is kept once."""
        ...

    async def recall(self, query: MemoryQuery) -> list[MemoryHit]:
        """The query scope's items embedded by `query.model`, nearest first, up to its limit."""
        ...

    async def claim(self, now: datetime, until: datetime, limit: int) -> list[MemoryItem]:
        """Up to `limit` unembedded items, oldest first, that no live lease holds and that were
        tried fewer than MAX_ATTEMPTS times: leased until `until`, their attempt counted."""
        ...

    async def embedded(self, vectors: Sequence[tuple[UUID, tuple[float, ...]]], model: str) -> None:
        """Give each item its vector (and free its lease); an item erased meanwhile is skipped."""
        ...

    async def release(self, ids: Sequence[UUID]) -> None:
        """Free the leases of items that could not be embedded now (tried again later)."""
        ...

    async def list(
        self, client_id: UUID, end_user: str, after: Cursor | None, limit: int
    ) -> list[MemoryItem]:
        """The end user's items across characters, ordered by (created_at, id)."""
        ...

    async def erase(self, client_id: UUID, end_user: str) -> int:
        """Delete the end user's items for good; how many there were."""
        ...

    async def expire(self, before: datetime) -> int:
        """Delete items created before `before`; how many."""
        ...
