"""Long-term memory's PostgreSQL cost (SPEC §15): the outbox insert a turn waits for, and
recall as an end user's memory grows.

On the embedded PostgreSQL, migrated as FastWrap migrates it: one end user's scope filled to
each size with 1536-dimension vectors around 20 topics (a person's turns come back to a few
subjects), beside 100 other end users of 100 items each (so the scope index has something to
skip). Each of --queries questions (a paraphrase of one of the scope's items) is asked twice:
by `PgMemoryStore.recall` (limit 30: top_k 4 plus the history's room; items ranked by the
Hamming distance of their bits, the nearest 200 re-ranked exactly) and by an exact scan of the
scope written by hand; recall@4 is against the exact scan. Then `PgMemoryStore.add` of one
item, --queries times (what a turn with memory waits for before its 201, without company).

    uv run python bench/memory_recall.py [--sizes 100,1000,10000] [--queries 200]

Not a test: it prints figures, it asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import asyncpg
import numpy as np
from stack import start_stack
from vector_data import clustered, paraphrases

from fastwrap.adapters.postgres.memory import PgMemoryStore
from fastwrap.adapters.postgres.migrate import apply_migrations
from fastwrap.adapters.postgres.pool import close_pool, create_pool
from fastwrap.domain.memory_items import MemoryItem, MemoryQuery

DIM = 1536
MODEL = "bench-model"
T0 = datetime(2026, 1, 1, tzinfo=UTC)
rng = np.random.default_rng(7)
TOP_K = 4
EXACT = """
SELECT id FROM memory_items
WHERE client_id = $1 AND character_id = $2 AND end_user = $3
ORDER BY embedding <=> $4::vector LIMIT 4
"""


def text(vector: np.ndarray) -> str:
    return "[" + ",".join(f"{x:.6f}" for x in vector) + "]"


async def fill(
    conn: asyncpg.Connection,
    client: UUID,
    character: UUID,
    end_user: str,
    vectors: np.ndarray,
    first: int = 0,
) -> None:
    n = len(vectors)
    rows = [
        (
            uuid4(), client, character, end_user, f"conv-{(first + i) // 10}", (first + i) * 2 + 1,
            f"User: question {first + i}\nAssistant: answer", T0 + timedelta(seconds=first + i),
            text(vectors[i]), MODEL,
        )
        for i in range(n)
    ]  # fmt: skip
    await conn.executemany(
        "INSERT INTO memory_items (id, client_id, character_id, end_user, conversation_id, seq,"
        " content, created_at, embedding, model) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9::vector,$10)",
        rows,
    )


def ms(samples: list[float]) -> str:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"p50 {statistics.median(ordered):.2f} ms p99 {p99:.2f} ms"


async def run(dsn: str, sizes: list[int], queries: int) -> None:
    conn = await asyncpg.connect(dsn)
    await apply_migrations(conn, DIM)
    client, character = uuid4(), uuid4()
    for other in range(100):
        await fill(conn, client, character, f"other-{other}", clustered(rng, 100, topics=20))
    scope = clustered(rng, max(sizes), topics=20)
    pool = await create_pool(dsn, min_size=1, max_size=2)
    store = PgMemoryStore(pool)
    filled = 0
    try:
        for size in sizes:
            await fill(conn, client, character, "heavy", scope[filled:size], filled)
            filled = size
            await conn.execute("ANALYZE memory_items")
            timings, exact_timings, found = [], [], 0
            for vector in paraphrases(rng, scope, rng.integers(0, size, queries)):
                query = MemoryQuery(
                    client_id=client, character_id=character, end_user="heavy",
                    conversation_id=None, embedding=tuple(float(x) for x in vector),
                    model=MODEL, limit=30,
                )  # fmt: skip
                started = time.perf_counter()
                hits = await store.recall(query)
                timings.append((time.perf_counter() - started) * 1000)
                assert len(hits) == 30
                started = time.perf_counter()
                exact = await conn.fetch(EXACT, client, character, "heavy", text(vector))
                exact_timings.append((time.perf_counter() - started) * 1000)
                found += len({r["id"] for r in exact} & {h.item.id for h in hits[:TOP_K]})
            quality = found / (queries * TOP_K)
            print(
                f"scope of {size:>6} items (+10,000 others): recall {ms(timings)}, "
                f"recall@{TOP_K} {quality:.3f}; exact scan {ms(exact_timings)}"
            )
        writes = []
        for n in range(queries):
            item = MemoryItem(
                id=uuid4(), client_id=client, character_id=character, end_user="writer",
                conversation_id="w", seq=n, content="User: hi\nAssistant: ahoy", created_at=T0,
            )  # fmt: skip
            started = time.perf_counter()
            await store.add([item])
            writes.append((time.perf_counter() - started) * 1000)
        print(f"outbox insert of one item (one turn, no company): {ms(writes)}")
    finally:
        await close_pool(pool)
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000,10000")
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    with start_stack() as stack:
        asyncio.run(run(stack.dsn, sizes, args.queries))


if __name__ == "__main__":
    main()
