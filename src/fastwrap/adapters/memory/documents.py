"""In-memory documents over the shared state, their chunks in the in-memory vector index."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from uuid import UUID

from fastwrap.adapters.memory.bulk import require_live_client
from fastwrap.adapters.memory.clients import MemoryState, Record, after_cursor, as_jsonb
from fastwrap.adapters.memory.vectors import InMemoryVectorIndex
from fastwrap.domain.knowledge import Document
from fastwrap.domain.model import EmbeddedSnippet
from fastwrap.domain.pagination import Cursor
from fastwrap.ports.documents import DocumentStore


def is_chunk_of(entity_id: str, document_id: str) -> bool:
    return entity_id.startswith(document_id + "#")


class InMemoryDocumentStore(DocumentStore):
    def __init__(self, state: MemoryState) -> None:
        self._state = state
        self._vectors = InMemoryVectorIndex(state)

    def _live(self, client_id: UUID, entity_type: str, document_id: str) -> Record[Document] | None:
        return next(
            (
                r
                for r in self._state.documents.values()
                if r.deleted_at is None
                and (r.value.client_id, r.value.entity_type, r.value.document_id)
                == (client_id, entity_type, document_id)
            ),
            None,
        )

    async def replace(self, document: Document, chunks: Sequence[EmbeddedSnippet]) -> Document:
        require_live_client(self._state, document.client_id)
        as_jsonb(document.metadata)
        current = self._live(document.client_id, document.entity_type, document.document_id)
        if current is not None:
            document = replace(document, id=current.value.id, created_at=current.value.created_at)
        for snippet in await self._vectors.upsert(chunks, document.updated_at):
            self._state.snippets[snippet.id].graph_pending = True  # a bulk load, as in bulk.py
        kept = {c.entity_id for c in chunks}
        self._drop_chunks(document, document.updated_at, keep=kept)
        if current is not None:
            del self._state.documents[current.value.id]
        self._state.documents[document.id] = Record(document)
        return document

    def _drop_chunks(self, document: Document, at: datetime, keep: set[str]) -> None:
        for record in self._state.snippets.values():
            s = record.snippet
            if (
                record.deleted_at is None
                and (s.client_id, s.entity_type) == (document.client_id, document.entity_type)
                and is_chunk_of(s.entity_id, document.document_id)
                and s.entity_id not in keep
            ):
                record.deleted_at = at

    async def list_page(self, client_id: UUID, after: Cursor | None, limit: int) -> list[Document]:
        rows = [
            r.value
            for r in self._state.documents.values()
            if r.deleted_at is None
            and r.value.client_id == client_id
            and after_cursor(r.value.created_at, r.value.id, after)
        ]
        rows.sort(key=lambda d: (d.created_at, d.id))
        return rows[: max(limit, 0)]

    async def delete(
        self, client_id: UUID, entity_type: str, document_id: str, at: datetime
    ) -> bool:
        current = self._live(client_id, entity_type, document_id)
        if current is None:
            return False
        current.deleted_at = at
        self._drop_chunks(current.value, at, keep=set())
        return True
