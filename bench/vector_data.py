"""Data and measurements for bench/vector_search.py: rows, queries, the raw query by hand.

Rows are clustered 1536-dimension unit vectors (100 topics), each with a 12-word content drawn
from a 2,000-word vocabulary (`term0` ... `term1999`, single lexemes), so a 3-word keyword query
matches a few hundred rows per 100k, as a real knowledge base's rarer words do.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any
from uuid import UUID

import asyncpg
import numpy as np

DIM = 1536
TOP_K = 10
VOCABULARY = 2000
WORDS_PER_ROW = 12
type Matrix = np.ndarray[Any, np.dtype[np.float32]]


def clustered(rng: np.random.Generator, count: int, topics: int = 100) -> Matrix:
    centres = rng.standard_normal((topics, DIM)).astype(np.float32)
    rows = centres[rng.integers(0, topics, count)]
    rows += 0.6 * rng.standard_normal((count, DIM)).astype(np.float32)
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    return rows.astype(np.float32, copy=False)


def texts(rng: np.random.Generator, count: int, words: int = WORDS_PER_ROW) -> list[str]:
    picks = rng.integers(0, VOCABULARY, (count, words))
    return [" ".join(f"term{w}" for w in row) for row in picks]


def paraphrases(rng: np.random.Generator, vectors: Matrix, rows: Any) -> Matrix:
    """A query per picked row: the row plus noise of half its length, normalised."""
    noise = rng.standard_normal((len(rows), DIM)).astype(np.float32) * (0.5 / np.sqrt(DIM))
    asked = vectors[rows] + noise
    return asked / np.linalg.norm(asked, axis=1, keepdims=True)


def exact_answers(vectors: Matrix, mine: Any, asked: Matrix) -> list[set[str]]:
    """The true top 10 among the tenant's rows (before any timing, so BLAS threads do not
    compete with PostgreSQL while searches are timed)."""
    answers = []
    for query in asked:
        scores = np.where(mine, vectors @ query, -np.inf)
        answers.append({str(n) for n in np.argpartition(-scores, TOP_K)[:TOP_K]})
    return answers


def records(
    owners: Sequence[UUID], vectors: Matrix, contents: list[str], model: str, first: int = 0
) -> list[tuple[Any, ...]]:
    return [
        (owners[n], "doc", str(first + n), contents[n], vectors[n], model)
        for n in range(len(vectors))
    ]


COPY_COLUMNS = ("client_id", "entity_type", "entity_id", "content", "embedding", "model")


async def copy_rows(conn: asyncpg.Connection, rows: list[tuple[Any, ...]]) -> float:
    """A raw binary COPY straight into `embeddings`; returns rows per second."""
    started = time.perf_counter()
    await conn.copy_records_to_table("embeddings", records=rows, columns=COPY_COLUMNS, timeout=None)
    return len(rows) / (time.perf_counter() - started)


def ndjson(rows: list[tuple[Any, ...]]) -> list[bytes]:
    """The same rows as import lines, embeddings included."""
    return [
        json.dumps(
            {"entity_type": r[1], "entity_id": r[2], "content": r[3], "embedding": r[4].tolist()}
        ).encode()
        for r in rows
    ]


def raw_search_sql(order: str) -> str:
    """The search as anyone would write it by hand with asyncpg + pgvector (over the rows the
    index holds: FastWrap's statement also ranks those waiting for the graph workers)."""
    return f"""
SELECT id, entity_id, embedding <=> $1 AS distance FROM embeddings
WHERE client_id = $2 AND model = $3 AND deleted_at IS NULL AND NOT graph_pending
ORDER BY {order} LIMIT {TOP_K}
"""


def reranked_search_sql(order: str, candidates: int) -> str:
    """The endpoint's own statement written by hand: `candidates` rows in the index's order,
    re-ranked by exact distance, with the columns a search hit returns. The plain query above
    is cheaper when a tenant's rows are few in the index, and finds fewer of the true top 10."""
    columns = (
        "id, client_id, entity_type, entity_id, content, metadata, model, created_at, updated_at"
    )
    return f"""
SELECT * FROM (
    SELECT {columns}, embedding <=> $1 AS distance FROM embeddings
    WHERE client_id = $2 AND model = $3 AND deleted_at IS NULL AND NOT graph_pending
    ORDER BY {order} LIMIT {candidates}
) AS c ORDER BY distance, id LIMIT {TOP_K}
"""


async def timed(
    run: Callable[[Any], Awaitable[set[str]]], queries: Sequence[Any], exact: list[set[str]] | None
) -> tuple[float, float, float | None]:
    """(p50 ms, p99 ms, recall@10 or None) of `run` over the queries, after 10 warm-ups."""
    for query in queries[:10]:
        await run(query)
    latencies, recalls = [], []
    for n, query in enumerate(queries):
        started = time.perf_counter()
        found = await run(query)
        latencies.append((time.perf_counter() - started) * 1000)
        if exact is not None:
            recalls.append(len(found & exact[n]) / TOP_K)
    recall = statistics.mean(recalls) if recalls else None
    return statistics.median(latencies), float(np.percentile(latencies, 99)), recall
