"""Memory items in process memory, with the semantics of the memory_items table (postgres)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from uuid import UUID

import numpy as np

from fastwrap.adapters.memory.clients import MemoryRow, MemoryState, check_storable
from fastwrap.adapters.memory.vectors import cosine_distance
from fastwrap.domain.memory_items import MemoryHit, MemoryItem, MemoryQuery
from fastwrap.domain.pagination import Cursor
from fastwrap.ports.memory import MAX_ATTEMPTS, MemoryStore


def _embedded(row: MemoryRow) -> MemoryItem:
    return replace(row.item, embedded=row.embedding is not None)


class InMemoryMemoryStore(MemoryStore):
    def __init__(self, state: MemoryState | None = None) -> None:
        self._state = state or MemoryState()

    async def add(self, items: Sequence[MemoryItem]) -> None:
        for item in items:
            check_storable(item.content, item.end_user, item.conversation_id)
        for item in items:
            self._state.memory.setdefault(item.id, MemoryRow(item=replace(item, embedded=False)))

    async def recall(self, query: MemoryQuery) -> list[MemoryHit]:
        q = query
        wanted = np.asarray(q.embedding, dtype=np.float64)
        hits: list[tuple[float, MemoryItem]] = []
        for row in self._state.memory.values():
            item = row.item
            if (item.client_id, item.character_id) != (q.client_id, q.character_id):
                continue
            if item.end_user != q.end_user or row.embedding is None or row.model != q.model:
                continue
            if q.conversation_id is not None and item.conversation_id != q.conversation_id:
                continue
            distance = cosine_distance(np.asarray(row.embedding, dtype=np.float64), wanted)
            if distance == distance:  # not NaN: a zero vector matches nothing
                hits.append((distance, _embedded(row)))
        hits.sort(key=lambda hit: (hit[0], hit[1].id))
        return [MemoryHit(item=item, score=1.0 - d) for d, item in hits[: q.limit]]

    async def claim(self, now: datetime, until: datetime, limit: int) -> list[MemoryItem]:
        free = [
            row
            for row in self._state.memory.values()
            if row.embedding is None
            and row.attempts < MAX_ATTEMPTS
            and (row.lease_until is None or row.lease_until <= now)
        ]
        free.sort(key=lambda row: (row.item.created_at, row.item.id))
        for row in free[:limit]:
            row.lease_until = until
            row.attempts += 1
        return [row.item for row in free[:limit]]

    async def embedded(self, vectors: Sequence[tuple[UUID, tuple[float, ...]]], model: str) -> None:
        for item_id, vector in vectors:
            row = self._state.memory.get(item_id)
            if row is not None:
                row.embedding, row.model, row.lease_until = tuple(vector), model, None

    async def release(self, ids: Sequence[UUID]) -> None:
        for item_id in ids:
            row = self._state.memory.get(item_id)
            if row is not None:
                row.lease_until = None

    async def list(
        self, client_id: UUID, end_user: str, after: Cursor | None, limit: int
    ) -> list[MemoryItem]:
        rows = sorted(
            (
                row
                for row in self._state.memory.values()
                if row.item.client_id == client_id and row.item.end_user == end_user
            ),
            key=lambda row: (row.item.created_at, row.item.id),
        )
        if after is not None:
            rows = [
                r for r in rows if (r.item.created_at, r.item.id) > (after.created_at, after.id)
            ]
        return [_embedded(row) for row in rows[:limit]]

    async def erase(self, client_id: UUID, end_user: str) -> int:
        return self._state.forget_memory(
            lambda item: item.client_id == client_id and item.end_user == end_user
        )

    async def expire(self, before: datetime) -> int:
        return self._state.forget_memory(lambda item: item.created_at < before)
