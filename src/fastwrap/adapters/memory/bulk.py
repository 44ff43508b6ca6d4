"""In-memory bulk loads: rows wait in a list and are upserted together on publish."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from uuid import UUID

from fastwrap.adapters.memory.clients import CLIENT_NOT_FOUND, MemoryState
from fastwrap.adapters.memory.vectors import InMemoryVectorIndex
from fastwrap.domain.errors import NotFound
from fastwrap.domain.model import EmbeddedSnippet
from fastwrap.ports.bulk import BulkSnippetLoader, SnippetStaging


def require_live_client(state: MemoryState, client_id: UUID) -> None:
    record = state.clients.get(client_id)
    if record is None or record.deleted_at is not None:
        raise NotFound(CLIENT_NOT_FOUND)


class InMemorySnippetStaging(SnippetStaging):
    def __init__(self, state: MemoryState, client_id: UUID) -> None:
        self._state = state
        self._client_id = client_id
        self._rows: list[EmbeddedSnippet] = []

    async def add(self, rows: Sequence[EmbeddedSnippet]) -> None:
        self._rows.extend(rows)

    async def publish(self, at: datetime) -> int:
        require_live_client(self._state, self._client_id)
        stored = await InMemoryVectorIndex(self._state).upsert(self._rows, at)
        return len(stored)


class InMemorySnippetLoader(BulkSnippetLoader):
    def __init__(self, state: MemoryState) -> None:
        self._state = state

    @asynccontextmanager
    async def staging(self, client_id: UUID) -> AsyncIterator[SnippetStaging]:
        yield InMemorySnippetStaging(self._state, client_id)
