"""Bulk-loaded snippets enter the HNSW graph after they are published, through the graph
workers, on a real PostgreSQL with pgvector: out of the index while they wait (searched exactly
meanwhile), in it once indexed, and still waiting, not lost, across a restart."""

from __future__ import annotations

import asyncio
from uuid import UUID

import asyncpg
import numpy as np
import pytest

from fastwrap.adapters.bundles import Storage
from fastwrap.adapters.postgres.storage import open_postgres_storage
from fastwrap.domain.graph_worker import GraphWorker
from fastwrap.domain.model import EmbeddedSnippet, SearchQuery
from tests.contract import seeds
from tests.contract.test_vector_index import MODEL, T0

pytestmark = pytest.mark.integration

DIM = 8
OPTIONS = {"adapter": "postgres", "pool_min": 1, "pool_max": 4, "embedding_dim": DIM}
# The index alone: what a row it does not hold cannot be found by.
BY_INDEX = f"""
SELECT entity_id FROM embeddings
WHERE deleted_at IS NULL AND NOT graph_pending
ORDER BY embedding::halfvec({DIM}) <=> $1::float4[]::vector::halfvec({DIM}) LIMIT 1
"""


@pytest.fixture
def pg_embedding_dim() -> int:
    return DIM


def snippets(owner: UUID, count: int) -> list[EmbeddedSnippet]:
    rng = np.random.default_rng(17)
    return [
        EmbeddedSnippet(
            client_id=owner,
            entity_type="doc",
            entity_id=str(n),
            content=f"row {n}",
            metadata={},
            embedding=tuple(rng.standard_normal(DIM).tolist()),
            model=MODEL,
        )
        for n in range(count)
    ]


async def published(storage: Storage, count: int) -> tuple[UUID, list[EmbeddedSnippet]]:
    """A new tenant's `count` snippets, bulk-loaded (so waiting for the graph)."""
    owner = await seeds.add_client(storage, T0)
    rows = snippets(owner, count)
    async with storage.snippet_loader.staging(owner) as staging:
        await staging.add(rows)
        await staging.publish(T0)
    return owner, rows


async def nearest_by_index(dsn: str, rows: list[EmbeddedSnippet]) -> list[str | None]:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("SET enable_seqscan = off")
        await conn.execute("SET hnsw.ef_search = 100")
        plan = "\n".join(r[0] for r in await conn.fetch("EXPLAIN " + BY_INDEX, [0.0] * DIM))
        assert "embeddings_embedding_hnsw_half" in plan
        return [await conn.fetchval(BY_INDEX, list(row.embedding)) for row in rows]
    finally:
        await conn.close()


async def test_waiting_rows_are_out_of_the_graph_until_the_workers_index_them(
    pg_dsn: str,
) -> None:
    async with open_postgres_storage(pg_dsn, **OPTIONS) as storage:
        owner, rows = await published(storage, 120)

        assert await nearest_by_index(pg_dsn, rows[:3]) == [None] * 3  # the graph is empty
        for row in rows[::10]:  # searched exactly meanwhile
            search = SearchQuery(client_id=owner, embedding=row.embedding, model=MODEL, top_k=1)
            [hit] = await storage.vectors.search(search)
            assert hit.snippet.entity_id == row.entity_id

        worker = GraphWorker(storage.graph_backlog, workers=2, batch=25)
        steps: list[int] = []
        assert await worker.drain(steps.append) == 120
        assert (sum(steps), max(steps)) == (120, 25)
        assert await worker.pending() == 0

    assert await nearest_by_index(pg_dsn, rows[::10]) == [row.entity_id for row in rows[::10]]


async def test_rows_left_waiting_by_a_stopped_process_are_indexed_by_the_next(
    pg_dsn: str,
) -> None:
    async with open_postgres_storage(pg_dsn, **OPTIONS) as storage:
        _owner, rows = await published(storage, 40)
        assert await storage.graph_backlog.index_some(10) == 10
    # The process stopped with 30 rows waiting; the next one's workers find them.
    async with open_postgres_storage(pg_dsn, **OPTIONS) as storage:
        assert await storage.graph_backlog.pending() == 30
        worker = GraphWorker(storage.graph_backlog, poll_seconds=0.05)
        async with worker.running(), asyncio.timeout(60):  # a bound against a hang
            while await worker.pending():
                await asyncio.sleep(0.02)
        assert await worker.pending() == 0

    assert await nearest_by_index(pg_dsn, rows) == [row.entity_id for row in rows]
