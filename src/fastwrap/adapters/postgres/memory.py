"""Memory items in PostgreSQL (the memory_items table, migration 0014): the outbox of stored
turns, their vectors, recall within one scope, and erasure.

A scope (one tenant, character and end user) holds one person's turns with one character, so
recall reads only its rows, by the scope index: ranked by the Hamming distance of the vectors'
signs (a bit column inline in the row, so the TOASTed vectors are not read), the nearest
re-ranked by exact cosine distance. No other tenant's rows are ever read.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

import asyncpg

from fastwrap.adapters.postgres.pool import connection
from fastwrap.domain.memory_items import MemoryHit, MemoryItem, MemoryQuery
from fastwrap.domain.pagination import Cursor
from fastwrap.ports.memory import MAX_ATTEMPTS, MemoryStore

ITEM_COLUMNS = (
    "id, client_id, character_id, end_user, conversation_id, seq, content, created_at,"
    " embedding IS NOT NULL AS embedded"
)
INSERT = """
INSERT INTO memory_items
    (id, client_id, character_id, end_user, conversation_id, seq, content, created_at)
SELECT * FROM unnest(
    $1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::integer[], $7::text[],
    $8::timestamptz[]
)
ON CONFLICT (id) DO NOTHING
"""
# The scope's items by the Hamming distance of their bits (inline in the row: no vector is
# read), then the nearest CANDIDATES re-ranked by exact cosine distance. A scope of up to
# CANDIDATES items is ranked exactly.
CANDIDATES = 200
RECALL = f"""
SELECT {ITEM_COLUMNS}, 1 - (embedding <=> $5) AS score
FROM (
    SELECT * FROM memory_items
    WHERE client_id = $1 AND character_id = $2 AND end_user IS NOT DISTINCT FROM $3
        AND ($4::text IS NULL OR conversation_id = $4)
        AND model = $6 AND embedding IS NOT NULL
    ORDER BY embedding_bits <~> (SELECT binary_quantize($5::vector))  -- computed once
    LIMIT greatest($7, {CANDIDATES})
) AS nearest
ORDER BY embedding <=> $5, id
LIMIT $7
"""
# Oldest first; SKIP LOCKED lets two workers claim at once without waiting on each other.
CLAIM = f"""
UPDATE memory_items SET lease_until = $2, attempts = attempts + 1
WHERE id IN (
    SELECT id FROM memory_items
    WHERE embedding IS NULL AND attempts < {MAX_ATTEMPTS}
        AND (lease_until IS NULL OR lease_until <= $1)
    ORDER BY created_at, id
    LIMIT $3
    FOR UPDATE SKIP LOCKED
)
RETURNING {ITEM_COLUMNS}
"""
EMBEDDED = """
UPDATE memory_items AS m SET embedding = v.embedding, model = $3, lease_until = NULL
FROM unnest($1::uuid[], $2::vector[]) AS v (id, embedding)
WHERE m.id = v.id
"""
RELEASE = "UPDATE memory_items SET lease_until = NULL WHERE id = ANY ($1::uuid[])"
LIST_FIRST = f"""
SELECT {ITEM_COLUMNS} FROM memory_items WHERE client_id = $1 AND end_user = $2
ORDER BY created_at, id LIMIT $3
"""
LIST_AFTER = f"""
SELECT {ITEM_COLUMNS} FROM memory_items
WHERE client_id = $1 AND end_user = $2 AND (created_at, id) > ($4, $5)
ORDER BY created_at, id LIMIT $3
"""
ERASE = "DELETE FROM memory_items WHERE client_id = $1 AND end_user = $2"
EXPIRE = "DELETE FROM memory_items WHERE created_at < $1"


def _item(row: asyncpg.Record) -> MemoryItem:
    return MemoryItem(
        id=row["id"],
        client_id=row["client_id"],
        character_id=row["character_id"],
        end_user=row["end_user"],
        conversation_id=row["conversation_id"],
        seq=row["seq"],
        content=row["content"],
        created_at=row["created_at"],
        embedded=row["embedded"],
    )


def _count(status: str) -> int:
    return int(status.split()[-1])


class PgMemoryStore(MemoryStore):
    def __init__(self, pool: asyncpg.Pool, writes: asyncpg.Pool | None = None) -> None:
        """`writes`: the pool the outbox is written through (the usage ledger's: its commits
        need not wait for the WAL flush, see usage.py)."""
        self._pool = pool
        self._writes = writes or pool

    async def add(self, items: Sequence[MemoryItem]) -> None:
        if not items:
            return
        columns = [
            [i.id for i in items],
            [i.client_id for i in items],
            [i.character_id for i in items],
            [i.end_user for i in items],
            [i.conversation_id for i in items],
            [i.seq for i in items],
            [i.content for i in items],
            [i.created_at for i in items],
        ]
        async with connection(self._writes) as conn:
            await conn.execute(INSERT, *columns)

    async def recall(self, query: MemoryQuery) -> list[MemoryHit]:
        q = query
        async with connection(self._pool) as conn:
            rows = await conn.fetch(
                RECALL, q.client_id, q.character_id, q.end_user, q.conversation_id,
                q.embedding, q.model, q.limit,
            )  # fmt: skip
        return [MemoryHit(item=_item(row), score=float(row["score"])) for row in rows]

    async def claim(self, now: datetime, until: datetime, limit: int) -> list[MemoryItem]:
        async with connection(self._pool) as conn:
            rows = await conn.fetch(CLAIM, now, until, limit)
        return sorted((_item(row) for row in rows), key=lambda i: (i.created_at, i.id))

    async def embedded(self, vectors: Sequence[tuple[UUID, tuple[float, ...]]], model: str) -> None:
        if not vectors:
            return
        ids = [item_id for item_id, _ in vectors]
        embeddings = [tuple(vector) for _, vector in vectors]  # a list would nest the array
        async with connection(self._pool) as conn:
            await conn.execute(EMBEDDED, ids, embeddings, model)

    async def release(self, ids: Sequence[UUID]) -> None:
        async with connection(self._pool) as conn:
            await conn.execute(RELEASE, list(ids))

    async def list(
        self, client_id: UUID, end_user: str, after: Cursor | None, limit: int
    ) -> list[MemoryItem]:
        async with connection(self._pool) as conn:
            if after is None:
                rows = await conn.fetch(LIST_FIRST, client_id, end_user, limit)
            else:
                rows = await conn.fetch(
                    LIST_AFTER, client_id, end_user, limit, after.created_at, after.id
                )
        return [_item(row) for row in rows]

    async def erase(self, client_id: UUID, end_user: str) -> int:
        async with connection(self._pool) as conn:
            return _count(await conn.execute(ERASE, client_id, end_user))

    async def expire(self, before: datetime) -> int:
        async with connection(self._pool) as conn:
            return _count(await conn.execute(EXPIRE, before))
