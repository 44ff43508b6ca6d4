"""Snippets and their embeddings in PostgreSQL, searched with pgvector's HNSW index and
PostgreSQL's full-text search (search_sql.py has the statements).

With a plain HNSW scan, pgvector filters *after* the index hands over its `ef_search` nearest
candidates, so a tenant outnumbered by other tenants' similar rows would get few or no hits.
Connections therefore run with iterative index scans (pgvector >= 0.8), which keep walking the
graph until enough rows pass the filters, and a search that still comes back short (older
pgvector, or the scan budget ran out) is run again as an exact scan of the tenant's rows, so a
search always returns min(top_k, matching rows) hits.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

import asyncpg

from fastwrap.adapters.postgres.pool import connection
from fastwrap.adapters.postgres.search_sql import Terms, VectorIndexShape, search_statements
from fastwrap.domain.model import EmbeddedSnippet, SearchHit, SearchQuery, Snippet
from fastwrap.ports.repositories import VectorIndex

SNIPPET_FIELDS = (
    "id", "client_id", "entity_type", "entity_id", "content", "metadata", "model",
    "created_at", "updated_at",
)  # fmt: skip
SNIPPET_COLUMNS = ", ".join(SNIPPET_FIELDS)
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
    embedding = excluded.embedding, model = excluded.model, updated_at = excluded.updated_at,
    graph_pending = false
RETURNING {SNIPPET_COLUMNS}
"""
SCOPE = """client_id = $1 AND model = $2 AND deleted_at IS NULL
    AND ($3::text[] IS NULL OR entity_type = ANY ($3::text[]))
    AND ($4::jsonb IS NULL OR metadata @> $4::jsonb)"""
SCOPE_PARAMETERS = 4
# The same scope over the snippets' words (migration 0015: live rows only); the metadata filter
# looks the snippet row up.
TERMS = Terms(
    table="embedding_terms",
    scope="""t.client_id = $1 AND t.model = $2
    AND ($3::text[] IS NULL OR t.entity_type = ANY ($3::text[]))
    AND ($4::jsonb IS NULL OR EXISTS (
        SELECT FROM embeddings AS s WHERE s.id = t.id AND s.metadata @> $4::jsonb))""",
)
# The fallback: no index scans at all, so the sort is exact over the rows that pass the filters.
EXACT_SETTINGS = "SELECT set_config('enable_indexscan', 'off', true)"
DELETE = """
UPDATE embeddings SET deleted_at = $4
WHERE client_id = $1 AND entity_type = $2 AND entity_id = $3 AND deleted_at IS NULL
"""
# The HNSW candidate list: recall against latency (pgvector's own default is 40). 300 keeps
# recall@10 >= 0.95 at 100k rows of 1536 dimensions in every index build measured (0.967-0.987
# in four builds; 200 gave 0.938-0.981 in six, 100 gave 0.943: benchmarks.md).
DEFAULT_EF_SEARCH = 300
MAX_SCAN_TUPLES = 50_000
# Rows taken from the index per search, re-ranked by exact distance (see search_sql.py).
DEFAULT_CANDIDATES = 40
# How many hits of each part a hybrid search fuses.
HYBRID_DEPTH = 40


def session_settings(*, iterative_scan: bool, ef_search: int) -> dict[str, str]:
    """What every pooled connection runs with, sent once when it connects (no round trip).

    Custom plans let the planner see the real tenant and filters of each search (a generic
    plan would pick one access path for a tenant of 10 rows and one of 100,000 alike).
    Iterative scans (pgvector >= 0.8; older versions refuse the names) keep walking the HNSW
    graph until enough rows pass the filters.
    """
    settings = {"plan_cache_mode": "force_custom_plan", "hnsw.ef_search": str(ef_search)}
    if iterative_scan:
        settings["hnsw.iterative_scan"] = "relaxed_order"
        settings["hnsw.max_scan_tuples"] = str(MAX_SCAN_TUPLES)
    return settings


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


def hit_of(row: asyncpg.Record, snippet: Snippet) -> SearchHit:
    distance, score = row["distance"], row["score"]
    return SearchHit(
        snippet=snippet,
        score=1.0 - distance if score is None else score,
        distance=distance,
        vector_rank=row["vector_rank"],
        keyword_rank=row["keyword_rank"],
    )


def _hits(rows: list[asyncpg.Record]) -> list[SearchHit]:
    # A zero vector's distance is NaN: it has no direction, so it matches nothing.
    return [
        hit_of(row, snippet_of(row))
        for row in rows
        if row["distance"] is None or not math.isnan(row["distance"])
    ]


class PgVectorIndex(VectorIndex):
    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        shape: VectorIndexShape,
        candidates: int = DEFAULT_CANDIDATES,
    ) -> None:
        """`pool` runs with `session_settings`; `shape` says what the HNSW index is on."""
        self._pool = pool
        self._candidates = candidates
        self._sql = search_statements(
            "embeddings", SNIPPET_FIELDS, SCOPE, SCOPE_PARAMETERS, shape, TERMS
        )

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

    def _statement(self, query: SearchQuery) -> tuple[str, tuple[object, ...]]:
        scope = (
            query.client_id,
            query.model,
            list(query.entity_types) if query.entity_types is not None else None,
            dict(query.metadata) if query.metadata is not None else None,
        )
        candidates = max(self._candidates, query.top_k)
        if query.mode == "keyword":
            return self._sql.keyword, (*scope, query.text, query.top_k)
        if query.mode == "hybrid":
            depth = max(HYBRID_DEPTH, query.top_k)
            return self._sql.hybrid, (*scope, query.embedding, query.text, query.top_k, depth)
        return self._sql.vector, (*scope, query.embedding, query.top_k, candidates)

    async def search(self, query: SearchQuery) -> list[SearchHit]:
        statement, args = self._statement(query)
        async with connection(self._pool) as conn:
            rows = await conn.fetch(statement, *args)
            if len(rows) < query.top_k and query.mode != "keyword":
                # Short: the tenant may hold fewer matching rows, or the index scan gave up
                # (its budget ran out, or pgvector < 0.8 filters after the scan). Exact then.
                async with conn.transaction(readonly=True):
                    await conn.execute(EXACT_SETTINGS)
                    rows = await conn.fetch(statement, *args)
        return _hits(rows)

    async def delete(self, client_id: UUID, entity_type: str, entity_id: str, at: datetime) -> bool:
        async with connection(self._pool) as conn:
            status = await conn.execute(DELETE, client_id, entity_type, entity_id, at)
        return bool(status == "UPDATE 1")
