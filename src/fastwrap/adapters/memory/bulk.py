"""In-memory bulk loads: rows wait in a list and are upserted together on publish. There is no
index to defer inserts into, but published rows are marked waiting and the backlog clears them,
as in PostgreSQL, so the graph workers and their callers run the same here."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from uuid import UUID

from fastwrap.adapters.memory.clients import CLIENT_NOT_FOUND, MemoryState, SnippetRecord
from fastwrap.adapters.memory.vectors import InMemoryVectorIndex
from fastwrap.domain.errors import NotFound
from fastwrap.domain.model import EmbeddedSnippet
from fastwrap.ports.bulk import BulkSnippetLoader, GraphBacklog, SnippetStaging


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
        for snippet in stored:
            self._state.snippets[snippet.id].graph_pending = True
        return len(stored)


class InMemorySnippetLoader(BulkSnippetLoader):
    def __init__(self, state: MemoryState) -> None:
        self._state = state

    @asynccontextmanager
    async def staging(self, client_id: UUID) -> AsyncIterator[SnippetStaging]:
        yield InMemorySnippetStaging(self._state, client_id)


class InMemoryGraphBacklog(GraphBacklog):
    def __init__(self, state: MemoryState) -> None:
        self._state = state

    def _waiting(self) -> list[SnippetRecord]:
        snippets = self._state.snippets.values()
        return [r for r in snippets if r.deleted_at is None and r.graph_pending]

    async def pending(self) -> int:
        return len(self._waiting())

    async def index_some(self, limit: int) -> int:
        batch = self._waiting()[:limit]
        for record in batch:
            record.graph_pending = False
        return len(batch)
