"""Vector search benchmark on the embedded PostgreSQL, through the real PgVectorIndex.

For each size and tenant layout it loads clustered 1536-dimension vectors ("one" tenant holding
every row, or "ten" tenants of 10% each, all writing about the same topics: the layout where a
post-filtered HNSW scan starves), then searches one tenant and prints one line with upsert
throughput, search p50/p99 latency, recall@10 against an exact scan, and how many searches the
planned scan alone left short of top_k (those were completed by the exact fallback), for each
`ef_search` asked for.

    uv run python bench/vector_search.py                      # 10k and 100k rows
    uv run python bench/vector_search.py --sizes 10000 --queries 100 --ef-search 100
    uv run python bench/vector_search.py --data-dir /tmp/fwbench [--reuse]   # keep / reuse data

Not a test: it prints figures, it asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import numpy as np

from fastwrap.adapters.bundles import Storage
from fastwrap.adapters.clock import SystemClock
from fastwrap.adapters.langchain.hashing import HashingEmbedder
from fastwrap.adapters.postgres.embedded import embedded_postgres
from fastwrap.adapters.postgres.pool import close_pool, create_pool, init_connection
from fastwrap.adapters.postgres.storage import open_postgres_storage
from fastwrap.adapters.postgres.vectors import (
    ITERATIVE_SETTINGS,
    SEARCH,
    PgVectorIndex,
)
from fastwrap.domain.model import Client, EmbeddedSnippet, SearchQuery, SnippetInput
from fastwrap.domain.vectors import VectorService

DIM = 1536
TOP_K = 10
BATCH = 100
MODEL = "bench"
NOW = datetime(2026, 1, 1, tzinfo=UTC)
WORDS = (
    "refund shipping invoice account password order delivery warranty return payment card "
    "discount subscription upgrade cancel support ticket login email address billing plan"
).split()
type Matrix = np.ndarray[Any, np.dtype[np.float32]]


def clustered(rng: np.random.Generator, count: int, topics: int = 100) -> Matrix:
    centres = rng.standard_normal((topics, DIM)).astype(np.float32)
    rows = centres[rng.integers(0, topics, count)]
    rows += 0.6 * rng.standard_normal((count, DIM)).astype(np.float32)
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    return rows.astype(np.float32, copy=False)


async def add_client(storage: Storage, number: int = 0) -> UUID:
    """A tenant; `number` orders the tenants by email, so a reused run finds tenant 0 again."""
    ident = uuid4()
    await storage.clients.add(
        Client(
            id=ident, email=f"tenant{number:02d}-{ident.hex[:8]}@bench.test", password_hash="x",
            key_digest=ident.hex * 2, created_at=NOW, updated_at=NOW,
        )
    )  # fmt: skip
    return ident


async def load(storage: Storage, owners: Sequence[UUID], vectors: Matrix) -> float:
    """Upsert every row in batches of 100; returns snippets per second."""
    started = time.perf_counter()
    for start in range(0, len(vectors), BATCH):
        batch = [
            EmbeddedSnippet(
                client_id=owners[n], entity_type="doc", entity_id=str(n), content=f"snippet {n}",
                metadata={"n": n}, embedding=tuple(vectors[n].tolist()), model=MODEL,
            )
            for n in range(start, min(start + BATCH, len(vectors)))
        ]  # fmt: skip
        await storage.vectors.upsert(batch, NOW)
    return len(vectors) / (time.perf_counter() - started)


async def index_only_short(dsn: str, tenant: UUID, queries: Matrix, ef_search: int) -> int:
    """How many queries the planned scan alone (no exact fallback) leaves short of top_k."""
    conn = await asyncpg.connect(dsn)
    try:
        await init_connection(conn)
        short = 0
        for query in queries:
            async with conn.transaction():
                await conn.execute(ITERATIVE_SETTINGS, str(ef_search), "50000")
                rows = await conn.fetch(SEARCH, query, tenant, MODEL, None, None, TOP_K)
            short += len(rows) < TOP_K
        return short
    finally:
        await conn.close()


async def fresh_or_reused(admin_dsn: str, name: str, reuse: bool) -> tuple[str, bool]:
    """The configuration's database DSN, and whether it already holds its rows."""
    admin = await asyncpg.connect(admin_dsn)
    try:
        exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if exists and not reuse:
            await admin.execute(f"DROP DATABASE {name} WITH (FORCE)")
        if not exists or not reuse:
            await admin.execute(f"CREATE DATABASE {name}")
    finally:
        await admin.close()
    return admin_dsn.replace("/fastwrap?", f"/{name}?"), bool(exists and reuse)


async def tenants_of(dsn: str, tenants: int) -> list[UUID]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT id FROM clients ORDER BY email")
    finally:
        await conn.close()
    return [row["id"] for row in rows][:tenants]


def exact_answers(vectors: Matrix, mine: Any, asked: Matrix) -> list[set[str]]:
    """The true top 10 of each query among the tenant's rows (computed before any timing, so
    BLAS threads do not compete with PostgreSQL while searches are timed)."""
    answers = []
    for query in asked:
        scores = np.where(mine, vectors @ query, -np.inf)
        answers.append({str(n) for n in np.argpartition(-scores, TOP_K)[:TOP_K]})
    return answers


async def search_figures(
    index: PgVectorIndex, target: UUID, asked: Matrix, exact: list[set[str]]
) -> tuple[float, float, float]:
    """(p50 ms, p99 ms, recall@10) of PgVectorIndex.search against the exact answers."""
    latencies, recalls = [], []
    for query, wanted in zip(asked, exact, strict=True):
        search = SearchQuery(
            client_id=target, embedding=tuple(query.tolist()), model=MODEL, top_k=TOP_K
        )
        started = time.perf_counter()
        hits = await index.search(search)
        latencies.append((time.perf_counter() - started) * 1000)
        recalls.append(len({h.snippet.entity_id for h in hits} & wanted) / TOP_K)
    p99 = float(np.percentile(latencies, 99))
    return statistics.median(latencies), p99, statistics.mean(recalls)


async def configuration(
    admin_dsn: str, size: int, tenants: int, queries: int, ef_values: list[int], reuse: bool
) -> list[str]:
    dsn, reused = await fresh_or_reused(admin_dsn, f"bench_{size}_{tenants}", reuse)
    rng = np.random.default_rng(size + tenants)
    vectors = clustered(rng, size)
    async with open_postgres_storage(
        dsn, adapter="embedded", pool_min=1, pool_max=4, embedding_dim=DIM
    ) as storage:
        if reused:
            ids, upsert = await tenants_of(dsn, tenants), "reused"
        else:
            ids = [await add_client(storage, n) for n in range(tenants)]
            owners = [ids[n % tenants] for n in range(size)]
            upsert = f"{await load(storage, owners, vectors):.0f} snippets/s"
            conn = await asyncpg.connect(dsn)
            await conn.execute("VACUUM ANALYZE embeddings")
            await conn.close()
    target = ids[0]
    mine = np.array([n % tenants == 0 for n in range(size)])
    picks = rng.choice(np.flatnonzero(mine), queries)
    # A query is a paraphrase of a stored row: the row plus noise of half its length.
    noise = rng.standard_normal((queries, DIM)).astype(np.float32) * (0.5 / np.sqrt(DIM))
    asked = vectors[picks] + noise
    asked /= np.linalg.norm(asked, axis=1, keepdims=True)
    exact = exact_answers(vectors, mine, asked)
    lines = []
    pool = await create_pool(dsn, min_size=1, max_size=2)
    try:
        for ef in ef_values:
            index = PgVectorIndex(pool, ef_search=ef)
            await search_figures(index, target, asked[:20], exact[:20])  # warm the caches
            p50, p99, recall = await search_figures(index, target, asked, exact)
            short = await index_only_short(dsn, target, asked, ef)
            lines.append(
                f"rows={size:>7} tenants={tenants:>2} (searched tenant holds {int(mine.sum()):>6})"
                f" dim={DIM} upsert={upsert}  ef_search={ef:>3} search p50={p50:6.2f} ms "
                f"p99={p99:6.2f} ms recall@10={recall:.3f}  short-before-fallback={short}/{queries}"
            )
    finally:
        await close_pool(pool)
    return lines


async def hashing_upsert(dsn: str, count: int) -> str:
    """End to end through VectorService: hashing-embed and upsert batches of 100 texts."""
    rng = np.random.default_rng(1)
    async with open_postgres_storage(
        dsn, adapter="embedded", pool_min=1, pool_max=4, embedding_dim=DIM
    ) as storage:
        owner = await add_client(storage)
        service = VectorService(
            index=storage.vectors, embedder=HashingEmbedder(DIM), clock=SystemClock()
        )
        texts = [" ".join(rng.choice(WORDS, 40)) for _ in range(count)]
        started = time.perf_counter()
        for start in range(0, count, BATCH):
            items = [
                SnippetInput(entity_type="faq", entity_id=f"h{n}", content=texts[n])
                for n in range(start, min(start + BATCH, count))
            ]
            await service.upsert(owner, items)
        rate = count / (time.perf_counter() - started)
    return f"hashing embedder + upsert, {count} texts of 40 words, dim={DIM}: {rate:.0f} snippets/s"


async def main(
    sizes: list[int], queries: int, ef_values: list[int], data_dir: Path, reuse: bool
) -> None:
    started = time.perf_counter()
    async with embedded_postgres(data_dir) as dsn:
        async with open_postgres_storage(
            dsn, adapter="embedded", pool_min=1, pool_max=4, embedding_dim=DIM
        ):
            cold = time.perf_counter() - started
        print(
            f"embedded PostgreSQL start (initdb if new, start, migrate): {cold:.2f} s", flush=True
        )
        print(await hashing_upsert(dsn, 2000), flush=True)
        for size in sizes:
            for tenants in (1, 10):
                for line in await configuration(dsn, size, tenants, queries, ef_values, reuse):
                    print(line, flush=True)
    started = time.perf_counter()
    async with embedded_postgres(data_dir) as dsn:
        async with open_postgres_storage(
            dsn, adapter="embedded", pool_min=1, pool_max=4, embedding_dim=DIM
        ):
            warm = time.perf_counter() - started
    print(f"embedded PostgreSQL restart on existing data (start, migrate): {warm:.2f} s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--ef-search", type=int, nargs="+", default=[40, 100, 200])
    parser.add_argument("--data-dir", type=Path, default=None, help="keep the cluster here")
    parser.add_argument("--reuse", action="store_true", help="search data loaded by a past run")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fastwrap-bench-") as scratch:
        data_dir = args.data_dir or Path(scratch)
        asyncio.run(main(args.sizes, args.queries, args.ef_search, data_dir, args.reuse))
