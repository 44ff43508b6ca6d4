"""A binary-quantized HNSW index beside today's halfvec one (issue 19 §6), on the same rows.

FastWrap's snippet index is HNSW on `embedding::halfvec(D)` (migration 0009). pgvector 0.8 can
also index `binary_quantize(embedding)::bit(D)` (one bit a dimension, Hamming distance) and the
nearest candidates be re-ranked by their exact distance, as memory recall does without an index.
For each index kind, on the rows bench/vector_search.py uses (clustered 1536-dimension vectors,
paraphrase queries, recall@10 against an exact scan of the searched tenant's rows): build time,
size, a raw binary COPY of --load-rows more rows into the indexed table (the insert rate the
index allows), and search p50 / recall@10 for each re-rank depth (--candidates).

    uv run python bench/quantized_index.py [--sizes 10000] [--tenants 1 10] [--queries 100]

Not a test: it prints figures, it asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

import asyncpg
import numpy as np
from stack import Stack, start_stack
from vector_data import DIM, TOP_K, clustered, copy_rows, records, texts, timed
from vector_search import (
    DROP_INDEXES,
    INDEXED_ROWS,
    INDEXES,
    build,
    graph_clause,
    load_layout,
    with_graph,
)

from fastwrap.adapters.langchain.hashing import HASHING_MODEL
from fastwrap.adapters.postgres.pool import init_connection
from fastwrap.adapters.postgres.vectors import DEFAULT_EF_SEARCH, session_settings

BITS = f"binary_quantize(embedding)::bit({DIM})"
KINDS = {
    "half": (with_graph(INDEXES["half"][0]), INDEXES["half"][1]),
    "bq": (
        f"CREATE INDEX embeddings_embedding_hnsw_bq ON embeddings USING hnsw "
        f"(({BITS}) bit_hamming_ops) {graph_clause()} WHERE {INDEXED_ROWS}",
        f"{BITS} <~> binary_quantize($1::vector)",
    ),
}


def reranked(order: str, candidates: int) -> str:
    """The nearest `candidates` by the index's order, re-ranked by exact distance."""
    return f"""
SELECT entity_id FROM (
    SELECT entity_id, embedding <=> $1 AS distance FROM embeddings
    WHERE client_id = $2 AND model = $3 AND deleted_at IS NULL AND NOT graph_pending
    ORDER BY {order} LIMIT {candidates}
) AS t ORDER BY distance LIMIT {TOP_K}
"""


async def kind_lines(
    conn: asyncpg.Connection, kind: str, target: Any, data: dict[str, Any], args: Any
) -> list[str]:
    create, order = KINDS[kind]
    lines = [await build(conn, kind, create)]
    for candidates in args.candidates:
        ef = max(args.ef_search, candidates)
        await conn.execute(f"SET hnsw.ef_search = {ef}")
        sql = reranked(order, candidates)

        async def search(query: Any, sql: str = sql) -> set[str]:
            return {r["entity_id"] for r in await conn.fetch(sql, query, target, HASHING_MODEL)}

        p50, _, recall = await timed(search, data["asked"], data["exact"])
        lines.append(
            f"    re-rank {candidates} (ef_search {ef}): p50 {p50:.2f} ms recall@10 {recall:.3f}"
        )
    rng = np.random.default_rng(7)
    more = records([target] * args.load_rows, clustered(rng, args.load_rows),
                   texts(rng, args.load_rows), HASHING_MODEL)  # fmt: skip
    rate = await copy_rows(conn, [(*r[:2], f"load{r[2]}", *r[3:]) for r in more])
    lines.append(f"    raw COPY of {args.load_rows} rows into the indexed table: {rate:.0f} rows/s")
    await conn.execute("DELETE FROM embeddings WHERE entity_id LIKE 'load%'")
    for drop in DROP_INDEXES:
        await conn.execute(drop)
    return lines


async def layout(stack: Stack, size: int, tenant_count: int, args: Any) -> None:
    ids, data = await load_layout(stack, size, tenant_count, args.queries)
    settings = session_settings(iterative_scan=True, ef_search=args.ef_search)
    conn = await asyncpg.connect(stack.dsn, server_settings=settings)
    await init_connection(conn)
    try:
        for kind in args.kinds:
            for line in await kind_lines(conn, kind, ids[0][0], data, args):
                print(line, flush=True)
    finally:
        await conn.close()


async def run_all(stack: Stack, args: Any) -> None:
    for size in args.sizes:
        for tenant_count in args.tenants:
            await layout(stack, size, tenant_count, args)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000])
    parser.add_argument("--tenants", type=int, nargs="+", default=[1, 10])
    parser.add_argument("--kinds", nargs="+", default=["half", "bq"], choices=list(KINDS))
    parser.add_argument("--candidates", type=int, nargs="+", default=[40, 200, 800])
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--ef-search", type=int, default=DEFAULT_EF_SEARCH)
    parser.add_argument("--load-rows", type=int, default=1000)
    arguments = parser.parse_args()
    with start_stack() as bench_stack:
        asyncio.run(run_all(bench_stack, arguments))
