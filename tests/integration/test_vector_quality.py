"""Search quality of the real PgVectorIndex: HNSW agrees with an exact scan, and filters never
starve a tenant's results. Vectors are deterministic (fixed seeds), at 64 dimensions to stay fast.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import numpy as np
import pytest

from fastwrap.adapters.bundles import Storage
from fastwrap.adapters.postgres.pool import init_connection
from fastwrap.adapters.postgres.search_sql import search_statements
from fastwrap.adapters.postgres.storage import snippet_index_shape
from fastwrap.adapters.postgres.vectors import (
    DEFAULT_CANDIDATES,
    SCOPE,
    SCOPE_PARAMETERS,
    SNIPPET_FIELDS,
    session_settings,
)
from fastwrap.domain.model import Client, EmbeddedSnippet, SearchQuery

pytestmark = pytest.mark.integration

DIM = 64
NOW = datetime(2026, 1, 1, tzinfo=UTC)
type Matrix = np.ndarray[Any, np.dtype[np.float64]]


@pytest.fixture
def pg_embedding_dim() -> int:
    return DIM


def unit_rows(matrix: Matrix) -> Matrix:
    return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


def on_subject(rng: np.random.Generator, centres: Matrix, count: int) -> Matrix:
    """Vectors scattered around a few topic centres: many near neighbours, as real text has."""
    picks = rng.integers(0, len(centres), count)
    return unit_rows(centres[picks] + 0.4 * rng.standard_normal((count, DIM)))


async def add_tenant(storage: Storage, vectors: Matrix, types: list[str] | None = None) -> UUID:
    tenant = uuid4()
    await storage.clients.add(
        Client(
            id=tenant, email=f"{tenant.hex[:12]}@example.com", password_hash="h",
            key_digest=tenant.hex * 2, created_at=NOW, updated_at=NOW,
        )
    )  # fmt: skip
    items = [
        EmbeddedSnippet(
            client_id=tenant, entity_type=types[n] if types else "doc", entity_id=str(n),
            content=f"snippet {n}", metadata={}, embedding=tuple(row), model="m",
        )
        for n, row in enumerate(vectors)
    ]  # fmt: skip
    for start in range(0, len(items), 100):
        await storage.vectors.upsert(items[start : start + 100], NOW)
    return tenant


def exact_top(vectors: Matrix, query: Matrix, k: int, allowed: np.ndarray[Any, Any]) -> set[str]:
    similarity = np.where(allowed, vectors @ query, -np.inf)
    return {str(n) for n in np.argsort(-similarity)[:k]}


# With 1,000 rows the planner rightly prefers an exact scan; these make it walk the HNSW graph.
FORCE_INDEX = """
SELECT set_config('enable_seqscan', 'off', true), set_config('enable_bitmapscan', 'off', true),
       set_config('enable_sort', 'off', true)
"""


SHAPE = snippet_index_shape(DIM, half=True)


async def index_search(
    dsn: str, tenant: UUID, queries: Matrix, types: list[str] | None = None
) -> tuple[str, list[set[str]]]:
    """PgVectorIndex's query and settings, forced onto the HNSW index: (plan, top 10 per query).

    No exact fallback here, so this shows what the iterative index scan alone returns.
    """
    settings = session_settings(iterative_scan=True, ef_search=100)
    search = search_statements("embeddings", SNIPPET_FIELDS, SCOPE, SCOPE_PARAMETERS, SHAPE).vector
    conn = await asyncpg.connect(dsn, server_settings=settings)
    try:
        await init_connection(conn)
        async with conn.transaction():
            await conn.execute(FORCE_INDEX)
            scope = (tenant, "m", types, None)
            args = (10, DEFAULT_CANDIDATES)
            plan = await conn.fetch("EXPLAIN " + search, *scope, tuple(queries[0]), *args)
            found = [
                {row["entity_id"] for row in await conn.fetch(search, *scope, tuple(q), *args)}
                for q in queries
            ]
    finally:
        await conn.close()
    return "\n".join(row[0] for row in plan), found


async def test_hnsw_top_10_agrees_with_an_exact_scan(pg_storage: Storage, pg_dsn: str) -> None:
    rng = np.random.default_rng(20260101)
    vectors = on_subject(rng, rng.standard_normal((20, DIM)), 1000)
    tenant = await add_tenant(pg_storage, vectors)
    queries = unit_rows(vectors[rng.integers(0, 1000, 40)] + 0.2 * rng.standard_normal((40, DIM)))
    everything = np.ones(len(vectors), dtype=bool)
    exact = [exact_top(vectors, query, 10, everything) for query in queries]

    plan, by_index = await index_search(pg_dsn, tenant, queries)
    assert "embeddings_embedding_hnsw" in plan
    agreed = sum(len(found & wanted) for found, wanted in zip(by_index, exact, strict=True))
    assert agreed / (10 * len(queries)) >= 0.95

    agreed = 0
    for query, wanted in zip(queries, exact, strict=True):
        search = SearchQuery(client_id=tenant, embedding=tuple(query), model="m", top_k=10)
        hits = await pg_storage.vectors.search(search)
        assert len(hits) == 10
        agreed += len({h.snippet.entity_id for h in hits} & wanted)
    assert agreed / (10 * len(queries)) >= 0.95


async def test_a_small_tenant_beside_a_big_one_gets_top_k_for_every_query(
    pg_storage: Storage, pg_dsn: str
) -> None:
    rng = np.random.default_rng(7)
    subject = rng.standard_normal((3, DIM))  # both tenants write about the same things
    big_vectors = on_subject(rng, subject, 5000)
    big_types = ["faq" if n % 10 == 0 else "doc" for n in range(5000)]
    big = await add_tenant(pg_storage, big_vectors, big_types)
    small = await add_tenant(pg_storage, on_subject(rng, subject, 500))
    queries = on_subject(rng, subject, 25)

    for query in queries:
        for tenant, types in [(small, None), (big, ("faq",))]:
            search = SearchQuery(
                client_id=tenant, embedding=tuple(query), model="m", top_k=10, entity_types=types
            )
            hits = await pg_storage.vectors.search(search)
            assert len(hits) == 10
            assert all(h.snippet.client_id == tenant for h in hits)

    # Even on the HNSW graph, where the big tenant's rows crowd the neighbourhood, the iterative
    # scan keeps going until the small tenant (and the rare entity type) fill top_k.
    for tenant, types in [(small, None), (big, ["faq"])]:
        plan, by_index = await index_search(pg_dsn, tenant, queries, types)
        assert "embeddings_embedding_hnsw" in plan
        assert [len(found) for found in by_index] == [10] * len(queries)

    faq = np.array([t == "faq" for t in big_types])
    agreed = 0
    for query in queries:
        search = SearchQuery(
            client_id=big, embedding=tuple(query), model="m", top_k=10, entity_types=("faq",)
        )
        found = {h.snippet.entity_id for h in await pg_storage.vectors.search(search)}
        agreed += len(found & exact_top(big_vectors, query, 10, faq))
    assert agreed / (10 * len(queries)) >= 0.95
