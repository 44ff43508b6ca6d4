"""Bulk loads: a binary COPY into a temporary staging table, then one upsert from it.

COPY is PostgreSQL's fastest way in (binary; metadata travels as JSON text, since asyncpg has
no binary jsonb encoder, and is cast on the way out). The staging table has no index, so rows
land at COPY speed, and the one INSERT ... SELECT then pays the b-tree and word-index inserts
once per row. Not the HNSW insert, most of the cost (milliseconds a row): the rows are published
with `graph_pending` set, searched exactly until the graph workers (GraphBacklog below) have
put them into the index on several backends (migration 0017). It all happens in one transaction
on one connection: the staging table is dropped at its end, nothing is visible before the upsert
commits.
The upsert first takes a share lock on the tenant's row, so a tenant deleted meanwhile gets
nothing stored (its deletion waits, or the upsert finds it gone).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from uuid import UUID

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from fastwrap.adapters.postgres.pool import connection
from fastwrap.domain.errors import NotFound
from fastwrap.domain.model import EmbeddedSnippet
from fastwrap.ports.bulk import BulkSnippetLoader, GraphBacklog, SnippetStaging

type Conn = asyncpg.Connection | PoolConnectionProxy
STAGING = "snippet_staging"
STAGED_COLUMNS = ("entity_type", "entity_id", "content", "metadata", "embedding", "model")
CREATE_STAGING = f"""
CREATE TEMPORARY TABLE {STAGING} (
    entity_type text NOT NULL,
    entity_id   text NOT NULL,
    content     text NOT NULL,
    metadata    text NOT NULL,
    embedding   vector NOT NULL,
    model       text NOT NULL
) ON COMMIT DROP
"""
# The pool's 30-second statement timeout is for requests; one upsert of 100,000 rows through
# the HNSW index takes minutes.
BULK_TIMEOUT = 3600.0
LOCK_CLIENT = "SELECT 1 FROM clients WHERE id = $1 AND deleted_at IS NULL FOR SHARE"
UPSERT_STAGED = f"""
INSERT INTO embeddings
    (client_id, entity_type, entity_id, content, metadata, embedding, model, created_at, updated_at,
     graph_pending)
SELECT $1, entity_type, entity_id, content, metadata::jsonb, embedding, model, $2, $2, true
FROM {STAGING}
ON CONFLICT (client_id, entity_type, entity_id) WHERE deleted_at IS NULL
DO UPDATE SET content = excluded.content, metadata = excluded.metadata,
    embedding = excluded.embedding, model = excluded.model, updated_at = excluded.updated_at,
    graph_pending = true
"""

# A batch of waiting rows, locked so that another worker (of this process or another replica)
# takes the next batch instead; clearing the flag writes each row's new version, which the HNSW
# index (migration 0018) takes in then. The partial index of 0017 finds them.
INDEX_PENDING = """
WITH batch AS (
    SELECT id FROM embeddings WHERE deleted_at IS NULL AND graph_pending
    LIMIT $1
    FOR UPDATE SKIP LOCKED
)
UPDATE embeddings AS e SET graph_pending = false FROM batch WHERE e.id = batch.id
"""
COUNT_PENDING = "SELECT count(*) FROM embeddings WHERE deleted_at IS NULL AND graph_pending"


async def open_staging(conn: Conn) -> None:
    """Create the staging table (call inside a transaction: it is dropped at commit)."""
    await conn.execute(CREATE_STAGING)


async def stage(conn: Conn, rows: Sequence[EmbeddedSnippet]) -> None:
    records = [
        (r.entity_type, r.entity_id, r.content, json.dumps(r.metadata), r.embedding, r.model)
        for r in rows
    ]
    await conn.copy_records_to_table(
        STAGING, records=records, columns=STAGED_COLUMNS, timeout=BULK_TIMEOUT
    )


async def lock_client(conn: Conn, client_id: UUID) -> None:
    if await conn.fetchval(LOCK_CLIENT, client_id) is None:
        raise NotFound("client not found")


async def publish_staged(conn: Conn, client_id: UUID, at: datetime) -> int:
    status = await conn.execute(UPSERT_STAGED, client_id, at, timeout=BULK_TIMEOUT)
    return int(status.split()[-1])


class PgSnippetStaging(SnippetStaging):
    def __init__(self, conn: Conn, client_id: UUID) -> None:
        self._conn = conn
        self._client_id = client_id

    async def add(self, rows: Sequence[EmbeddedSnippet]) -> None:
        if rows:
            await stage(self._conn, rows)

    async def publish(self, at: datetime) -> int:
        await lock_client(self._conn, self._client_id)
        return await publish_staged(self._conn, self._client_id, at)


class PgSnippetLoader(BulkSnippetLoader):
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @asynccontextmanager
    async def staging(self, client_id: UUID) -> AsyncIterator[SnippetStaging]:
        async with connection(self._pool) as conn, conn.transaction():
            await open_staging(conn)
            yield PgSnippetStaging(conn, client_id)


class PgGraphBacklog(GraphBacklog):
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def pending(self) -> int:
        async with connection(self._pool) as conn:
            return int(await conn.fetchval(COUNT_PENDING))

    async def index_some(self, limit: int) -> int:
        async with connection(self._pool) as conn:
            status = await conn.execute(INDEX_PENDING, limit)
        return int(status.split()[-1])
