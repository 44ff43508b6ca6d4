"""Documents in PostgreSQL: the `documents` row and its chunks in `embeddings`, replaced in one
transaction that first locks the tenant's row (share) and then the document's own row, so two
uploads of one document take turns and the last to commit wins whole."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

import asyncpg

from fastwrap.adapters.postgres.bulk import lock_client, open_staging, publish_staged, stage
from fastwrap.adapters.postgres.pool import connection
from fastwrap.domain.knowledge import Document
from fastwrap.domain.model import EmbeddedSnippet
from fastwrap.domain.pagination import Cursor
from fastwrap.ports.documents import DocumentStore

COLUMNS = (
    "id, client_id, entity_type, document_id, format, source, metadata, chunks, characters, "
    "chunk_size, chunk_overlap, created_at, updated_at"
)
UPSERT = f"""
INSERT INTO documents ({COLUMNS})
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
ON CONFLICT (client_id, entity_type, document_id) WHERE deleted_at IS NULL
DO UPDATE SET format = excluded.format, source = excluded.source, metadata = excluded.metadata,
    chunks = excluded.chunks, characters = excluded.characters,
    chunk_size = excluded.chunk_size, chunk_overlap = excluded.chunk_overlap,
    updated_at = excluded.updated_at
RETURNING {COLUMNS}
"""
# The document's chunks are `document_id#n`: '#' is outside the entity_id alphabet of plain
# snippets, so no snippet of the tenant's own can be taken for a chunk.
DROP_CHUNKS = """
UPDATE embeddings SET deleted_at = $5
WHERE client_id = $1 AND entity_type = $2 AND deleted_at IS NULL
  AND left(entity_id, length($3) + 1) = $3 || '#' AND NOT (entity_id = ANY ($4::text[]))
"""
DELETE = """
UPDATE documents SET deleted_at = $4
WHERE client_id = $1 AND entity_type = $2 AND document_id = $3 AND deleted_at IS NULL
"""
SELECT_PAGE = f"""
SELECT {COLUMNS} FROM documents
WHERE client_id = $1 AND deleted_at IS NULL
  AND ($2::timestamptz IS NULL OR (created_at, id) > ($2, $3::uuid))
ORDER BY created_at, id LIMIT $4
"""


def _document(row: asyncpg.Record) -> Document:
    return Document(**{name: row[name] for name in row.keys()})


class PgDocumentStore(DocumentStore):
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def replace(self, document: Document, chunks: Sequence[EmbeddedSnippet]) -> Document:
        d = document
        at = d.updated_at
        async with connection(self._pool) as conn, conn.transaction():
            await lock_client(conn, d.client_id)
            row = await conn.fetchrow(
                UPSERT,
                *(d.id, d.client_id, d.entity_type, d.document_id, d.format, d.source),
                *(dict(d.metadata), d.chunks, d.characters, d.chunk_size, d.chunk_overlap),
                *(d.created_at, at),
            )
            await open_staging(conn)
            await stage(conn, chunks)
            await publish_staged(conn, d.client_id, at)
            kept = [c.entity_id for c in chunks]
            await conn.execute(DROP_CHUNKS, d.client_id, d.entity_type, d.document_id, kept, at)
        assert row is not None, "an upsert ... RETURNING returns its row"
        return _document(row)

    async def list_page(self, client_id: UUID, after: Cursor | None, limit: int) -> list[Document]:
        stamp, ident = (after.created_at, after.id) if after else (None, None)
        async with connection(self._pool) as conn:
            rows = await conn.fetch(SELECT_PAGE, client_id, stamp, ident, limit)
        return [_document(row) for row in rows]

    async def delete(
        self, client_id: UUID, entity_type: str, document_id: str, at: datetime
    ) -> bool:
        async with connection(self._pool) as conn, conn.transaction():
            status = await conn.execute(DELETE, client_id, entity_type, document_id, at)
            if status != "UPDATE 1":
                return False
            await conn.execute(DROP_CHUNKS, client_id, entity_type, document_id, [], at)
        return True
