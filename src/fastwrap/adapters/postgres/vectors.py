"""Snippets and their embeddings in PostgreSQL, searched with pgvector's HNSW index.

With a plain HNSW scan, pgvector filters *after* the index hands over its `ef_search` nearest
candidates, so a tenant outnumbered by other tenants' similar rows would get few or no hits.
Searches therefore turn on iterative index scans (pgvector >= 0.8), which keep walking the graph
until enough rows pass the filters, and fall back to an exact scan of the tenant's rows when the
index still comes back short (older pgvector, or the scan budget ran out), so a search always
returns min(top_k, matching rows) hits.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

import asyncpg

from fastwrap.adapters.postgres.pool import connection
from fastwrap.domain.model import EmbeddedSnippet, SearchHit, SearchQuery, Snippet
from fastwrap.ports.repositories import VectorIndex

SNIPPET_COLUMNS = (
    "id, client_id, entity_type, entity_id, content, metadata, model, created_at, updated_at"
)
# One statement for the whole batch: the items travel as parallel arrays and unnest into rows.
UPSERT = f"""
INSERT INTO embeddings
    (client_id, entity_type, entity_id, content, metadata, embedding, model, created_at, updated_at)
SELECT item.client_id, item.entity_type, item.entity_id, item.content, item.metadata,
       item.embedding, item.model, $8, $8
FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::jsonb[], $6::vector[], $7::text[])
    AS item (client_id, entity_type, entity_id, content, metadata, embedding, model)
ON CONFLICT (client_id, entity_type, entity_id) WHERE deleted_at IS NULL
DO UPDATE SET content = excluded.content, metadata = excluded.metadata,
    embedding = excluded.embedding, model = excluded.model, updated_at = excluded.updated_at
RETURNING {SNIPPET_COLUMNS}
"""
SEARCH = f"""
SELECT {SNIPPET_COLUMNS}, embedding <=> $1 AS distance
FROM embeddings
WHERE client_id = $2 AND model = $3 AND deleted_at IS NULL
  AND ($4::text[] IS NULL OR entity_type = ANY ($4::text[]))
  AND ($5::jsonb IS NULL OR metadata @> $5::jsonb)
ORDER BY embedding <=> $1
LIMIT $6
"""
# Custom plans fold the "$4 IS NULL OR ..." conditions away, so the planner sees the real filter.
INDEX_SETTINGS = """
SELECT set_config('plan_cache_mode', 'force_custom_plan', true),
       set_config('hnsw.ef_search', $1, true)
"""
# The same plus iterative scans, in one round trip (pgvector >= 0.8 only: older versions
# reserve the hnsw.* names and refuse the unknown ones).
ITERATIVE_SETTINGS = """
SELECT set_config('plan_cache_mode', 'force_custom_plan', true),
       set_config('hnsw.ef_search', $1, true),
       set_config('hnsw.iterative_scan', 'relaxed_order', true),
       set_config('hnsw.max_scan_tuples', $2, true)
"""
# The fallback: no index scans at all, so the sort is exact over the rows that pass the filters.
EXACT_SETTINGS = "SELECT set_config('enable_indexscan', 'off', true)"
DELETE = """
UPDATE embeddings SET deleted_at = $4
WHERE client_id = $1 AND entity_type = $2 AND entity_id = $3 AND deleted_at IS NULL
"""
# The HNSW candidate list: recall against latency (pgvector's own default is 40).
DEFAULT_EF_SEARCH = 100
MAX_EF_SEARCH = 1000  # pgvector's ceiling
MAX_SCAN_TUPLES = 50_000


def snippet_of(row: asyncpg.Record) -> Snippet:
    return Snippet(
        id=row["id"],
        client_id=row["client_id"],
        entity_type=row["entity_type"],
        entity_id=row["entity_id"],
        content=row["content"],
        metadata=row["metadata"],
        model=row["model"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _hits(rows: list[asyncpg.Record]) -> list[SearchHit]:
    # relaxed_order may hand rows back slightly out of order; a zero vector's distance is NaN.
    hits = [
        SearchHit(snippet=snippet_of(row), score=1.0 - row["distance"], distance=row["distance"])
        for row in rows
        if not math.isnan(row["distance"])
    ]
    hits.sort(key=lambda hit: (hit.distance, hit.snippet.id))
    return hits


class PgVectorIndex(VectorIndex):
    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        iterative_scan: bool = True,
        ef_search: int = DEFAULT_EF_SEARCH,
    ) -> None:
        """`iterative_scan` is False on pgvector < 0.8: searches then lean on the exact fallback."""
        self._pool = pool
        self._iterative = iterative_scan
        self._ef_search = ef_search

    async def upsert(self, items: Sequence[EmbeddedSnippet], at: datetime) -> list[Snippet]:
        if not items:
            return []
        columns = (
            [i.client_id for i in items],
            [i.entity_type for i in items],
            [i.entity_id for i in items],
            [i.content for i in items],
            [dict(i.metadata) for i in items],
            [i.embedding for i in items],
            [i.model for i in items],
        )
        async with connection(self._pool) as conn:
            rows = await conn.fetch(UPSERT, *columns, at)
        stored = {(r["client_id"], r["entity_type"], r["entity_id"]): snippet_of(r) for r in rows}
        return [stored[(i.client_id, i.entity_type, i.entity_id)] for i in items]

    async def search(self, query: SearchQuery) -> list[SearchHit]:
        args = (
            query.embedding,
            query.client_id,
            query.model,
            list(query.entity_types) if query.entity_types is not None else None,
            dict(query.metadata) if query.metadata is not None else None,
            query.top_k,
        )
        ef_search = min(MAX_EF_SEARCH, max(self._ef_search, 2 * query.top_k))
        async with connection(self._pool) as conn, conn.transaction(readonly=True):
            if self._iterative:
                await conn.execute(ITERATIVE_SETTINGS, str(ef_search), str(MAX_SCAN_TUPLES))
            else:
                await conn.execute(INDEX_SETTINGS, str(ef_search))
            rows = await conn.fetch(SEARCH, *args)
            if len(rows) < query.top_k:
                await conn.execute(EXACT_SETTINGS)
                rows = await conn.fetch(SEARCH, *args)
        return _hits(rows)

    async def delete(self, client_id: UUID, entity_type: str, entity_id: str, at: datetime) -> bool:
        async with connection(self._pool) as conn:
            status = await conn.execute(DELETE, client_id, entity_type, entity_id, at)
        return bool(status == "UPDATE 1")
