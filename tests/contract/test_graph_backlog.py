"""The graph backlog contract: what a bulk load publishes waits for its index insert, is found by
every search meanwhile, and is indexed by concurrent callers without a row taken twice."""

from __future__ import annotations

import asyncio
from uuid import UUID

import numpy as np
import pytest

from fastwrap.adapters.bundles import Storage
from fastwrap.domain.model import EmbeddedSnippet, SearchHit
from tests.contract.test_vector_index import T0, T1, add_client, item, query

MODES = ("vector", "hybrid")


@pytest.fixture
def pg_embedding_dim() -> int:
    return 4


async def publish(storage: Storage, rows: list[EmbeddedSnippet]) -> None:
    async with storage.snippet_loader.staging(rows[0].client_id) as staging:
        await staging.add(rows)
        await staging.publish(T0)


def rows_near_each_other(owner: UUID, count: int, seed: int = 1) -> list[EmbeddedSnippet]:
    rng = np.random.default_rng(seed)
    center = rng.standard_normal(4)
    vectors = center + 0.3 * rng.standard_normal((count, 4))
    return [
        item(owner, f"r{n}", tuple(v.tolist()), content=f"row {n} about refunds")
        for n, v in enumerate(vectors)
    ]


def answers(hits: list[SearchHit]) -> list[tuple[str, float]]:
    return [(h.snippet.entity_id, round(h.score, 6)) for h in hits]


async def searches(storage: Storage, rows: list[EmbeddedSnippet]) -> list[list[tuple[str, float]]]:
    """Every row's own vector searched for in both modes that use vectors."""
    found = []
    for row in rows[::5]:
        for mode in MODES:
            search = query(row.client_id, row.embedding, mode=mode, text="refunds", top_k=5)
            found.append(answers(await storage.vectors.search(search)))
    return found


async def test_published_rows_wait_for_the_index_and_are_found_all_the_while(
    storage: Storage,
) -> None:
    owner = await add_client(storage)
    rows = rows_near_each_other(owner, 30)
    await publish(storage, rows)
    assert await storage.graph_backlog.pending() == 30

    waiting = await searches(storage, rows)
    for row, hits in zip(rows[::5], waiting[::2], strict=True):
        assert hits[0][0] == row.entity_id  # each row is its own nearest, unindexed
    assert await storage.graph_backlog.index_some(12) == 12
    assert await storage.graph_backlog.pending() == 18
    assert await searches(storage, rows) == waiting  # half indexed: the same answers
    assert await storage.graph_backlog.index_some(100) == 18
    assert await storage.graph_backlog.index_some(100) == 0
    assert await storage.graph_backlog.pending() == 0
    assert await searches(storage, rows) == waiting  # all indexed: the same answers


async def test_a_regular_write_is_indexed_at_once_and_takes_a_waiting_row_with_it(
    storage: Storage,
) -> None:
    owner = await add_client(storage)
    rows = rows_near_each_other(owner, 4)
    await storage.vectors.upsert([item(owner, "direct", (1.0, 0.0, 0.0, 0.0))], T0)
    assert await storage.graph_backlog.pending() == 0

    await publish(storage, rows)
    await storage.vectors.upsert([rows[0]], T1)  # upserted again, as any write
    await storage.vectors.delete(owner, "doc", rows[1].entity_id, T1)
    assert await storage.graph_backlog.pending() == 2
    assert await storage.graph_backlog.index_some(10) == 2
    assert sorted(h.snippet.entity_id for h in await storage.vectors.search(query(owner))) == [
        "direct", "r0", "r2", "r3",
    ]  # fmt: skip


async def test_a_republished_row_waits_again(storage: Storage) -> None:
    owner = await add_client(storage)
    rows = rows_near_each_other(owner, 3)
    await publish(storage, rows)
    assert await storage.graph_backlog.index_some(10) == 3

    await publish(storage, rows[:1])
    assert await storage.graph_backlog.pending() == 1


async def test_concurrent_callers_never_index_a_row_twice(storage: Storage) -> None:
    owner = await add_client(storage)
    rows = rows_near_each_other(owner, 60)
    await publish(storage, rows)

    done = sum(await asyncio.gather(*(storage.graph_backlog.index_some(7) for _ in range(12))))
    while indexed := await storage.graph_backlog.index_some(7):  # any a skipped lock left over
        done += indexed

    assert done == 60  # a row indexed twice would count twice
    assert await storage.graph_backlog.pending() == 0
