"""Vector search and bulk load: the raw query beside PgVectorIndex beside the HTTP endpoint.

For each size and tenant layout ("one" tenant holding every row, or "ten" tenants of 10% each,
all writing about the same topics: where a filtered HNSW scan starves), rows are loaded by a
raw COPY into `embeddings` without its HNSW index, then for each index kind (`half`: HNSW on
embedding::halfvec(1536), the default since migration 0009; `full`: HNSW on the vector itself,
the index before it) the index is built (time, size; with the migrations' graph options,
m and ef_construction, or --graph's) and tenant 0 is searched:

- raw: the query written by hand with asyncpg + pgvector (ORDER BY ... LIMIT 10), and the
  endpoint's own statement written by hand (its 40 candidates re-ranked by exact distance),
  on a connection with FastWrap's session settings (iterative scans, ef_search: --ef-search);
- index: PgVectorIndex.search (candidates re-ranked by exact distance), per --candidates;
- endpoint: POST /api/vectors/search on a real `fastwrap serve` (vector, hybrid and keyword
  modes), and both raw queries with the very vector the endpoint's hashing embedder computes;
  then the same requests over a bare HTTP client (raw_http.py: no httpx cost) with the CPU
  each process spent per request (client, server, PostgreSQL, Redis): where the time goes;
  and the floor's search (floor_app.py: the endpoint's statement by hand behind the least a
  FastAPI app does, under the same uvicorn; and the same in plain ASGI, without FastAPI), over
  the same bare client;
- load: a raw COPY of --load-rows rows into the indexed table beside the import path
  (ImportService as the server builds it: NDJSON lines with their embedding, staging COPY and
  one upsert; the rows published, then put into the index by two graph workers: each rate
  reported, and the whole until indexed), each with vectors of its own, the COPY's rows half
  before the import and half after it; then as many rows again by a raw COPY on two
  connections at once (the issue's baseline for the import: "355 rows/s on two streams" into
  the full-precision index).

recall@10 is against an exact scan of the tenant's rows (paraphrase queries of stored rows).

    uv run python bench/vector_search.py                          # 10k and 100k rows
    uv run python bench/vector_search.py --sizes 10000 --queries 100 --kinds half
    uv run python bench/vector_search.py --sizes 100000 --kinds half --graph 16 64  # pgvector's

Not a test: it prints figures, it asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID

import asyncpg
import httpx
import numpy as np
from procfs import CpuMeter, children, redis_pid
from raw_http import RawHttp
from stack import Stack, start_stack
from vector_data import (
    DIM,
    TOP_K,
    clustered,
    copy_rows,
    exact_answers,
    ndjson,
    paraphrases,
    raw_search_sql,
    records,
    reranked_search_sql,
    texts,
    timed,
)  # fmt: skip

from fastwrap.adapters.clock import SystemClock
from fastwrap.adapters.json_lines import decode_line
from fastwrap.adapters.langchain.hashing import HASHING_MODEL, HashingEmbedder
from fastwrap.adapters.postgres.bulk import PgGraphBacklog, PgSnippetLoader
from fastwrap.adapters.postgres.migrate import HNSW_OPTIONS
from fastwrap.adapters.postgres.pool import close_pool, create_pool, init_connection
from fastwrap.adapters.postgres.search_sql import search_statements
from fastwrap.adapters.postgres.storage import snippet_index_shape
from fastwrap.adapters.postgres.vectors import (
    DEFAULT_CANDIDATES,
    DEFAULT_EF_SEARCH,
    SCOPE,
    SCOPE_PARAMETERS,
    SNIPPET_FIELDS,
    TERMS,
    PgVectorIndex,
    session_settings,
)
from fastwrap.domain.graph_worker import GraphWorker
from fastwrap.domain.imports import ImportService
from fastwrap.domain.model import SearchQuery

# The graph options of the index the migrations build (--graph M EF_CONSTRUCTION sets others),
# and the rows it holds (migration 0018: not those waiting for the graph workers).
GRAPH = dict(HNSW_OPTIONS)
INDEXED_ROWS = "deleted_at IS NULL AND NOT graph_pending"
INDEXES = {
    "half": (
        f"CREATE INDEX embeddings_embedding_hnsw_half ON embeddings USING hnsw "
        f"((embedding::halfvec({DIM})) halfvec_cosine_ops) {{graph}} WHERE {INDEXED_ROWS}",
        f"embedding::halfvec({DIM}) <=> $1::vector::halfvec({DIM})",
    ),
    "full": (
        "CREATE INDEX embeddings_embedding_hnsw ON embeddings USING hnsw "
        f"(embedding vector_cosine_ops) {{graph}} WHERE {INDEXED_ROWS}",
        "embedding <=> $1",
    ),
}


def graph_clause() -> str:
    """The WITH clause of the graph options in force."""
    return "WITH (" + ", ".join(f"{name} = {value}" for name, value in GRAPH.items()) + ")"


def with_graph(create: str) -> str:
    """An index's DDL (`{graph}` where its WITH clause goes) with the options in force."""
    return create.format(graph=graph_clause())


DROP_INDEXES = (
    "DROP INDEX IF EXISTS embeddings_embedding_hnsw_half",
    "DROP INDEX IF EXISTS embeddings_embedding_hnsw",
    "DROP INDEX IF EXISTS embeddings_embedding_hnsw_bq",  # quantized_index.py's
)
SETTINGS = session_settings(iterative_scan=True, ef_search=DEFAULT_EF_SEARCH)  # --ef-search sets it


async def tenants(url: str, count: int) -> list[tuple[UUID, str]]:
    """Sign up `count` tenants over HTTP: (id, API key), tenant 0 first."""
    found = []
    async with httpx.AsyncClient(base_url=url) as http:
        for n in range(count):
            body = {"email": f"t{n}-{time.time_ns()}@bench.test", "password": "Bench-pass-9x!"}
            data = (await http.post("/auth/signup", json=body)).json()["data"]
            found.append((UUID(data["id"]), data["api_key"]))
    return found


async def load_figures(
    pool: asyncpg.Pool,
    conn: asyncpg.Connection,
    target: UUID,
    count: int,
    index: Searcher,
    queries: list[Any],
) -> str:
    rng = np.random.default_rng(99)

    def fresh(prefix: str, size: int) -> list[tuple[Any, ...]]:
        # Vectors of their own for each load: HNSW files a vector equal to one it holds with
        # that one, without a graph search, so importing the rows just COPYed (as this did
        # until session 9) measured a cheaper insert than the COPY's.
        rows = records([target] * size, clustered(rng, size), texts(rng, size), HASHING_MODEL)
        return [(*r[:2], f"{prefix}{r[2]}", *r[3:]) for r in rows]

    service = ImportService(
        loader=PgSnippetLoader(pool), embedder=HashingEmbedder(DIM), clock=SystemClock(),
        decode=decode_line,
    )  # fmt: skip
    lines = ndjson(fresh("imp", count))

    async def stream() -> AsyncIterator[bytes]:
        for line in lines:
            yield line

    # Inserts slow down as the table grows, so the COPY is split around the import: half of
    # its rows before, half after.
    before, after = fresh("raw", count // 2), fresh("rawb", count - count // 2)
    copy_seconds = len(before) / await copy_rows(conn, before)
    started = time.perf_counter()
    result = await service.run(target, stream())
    importing = time.perf_counter() - started
    # The import's rows are live and searchable now (exactly, beside the index): a search's
    # cost while they wait, then the graph workers (two, as `fastwrap serve` runs them) put
    # them into the index, and the search again.
    waiting_p50 = (await timed(index, queries, None))[0]
    started = time.perf_counter()
    await GraphWorker(PgGraphBacklog(pool), workers=2).drain()
    indexing = time.perf_counter() - started
    indexed_p50 = (await timed(index, queries, None))[0]
    import_rate = result.imported / importing
    indexing_rate = result.imported / indexing
    until_indexed = result.imported / (importing + indexing)
    copy_seconds += len(after) / await copy_rows(conn, after)
    raw_rate = count / copy_seconds
    # The baseline was a raw COPY on two streams at once (two backends, each inserting
    # into the one HNSW index): the same here, so "2x that" can be judged on this machine.
    halves = fresh("rawc", count // 2), fresh("rawd", count - count // 2)
    started = time.perf_counter()
    async with pool.acquire() as first, pool.acquire() as second:
        await asyncio.gather(copy_rows(first, halves[0]), copy_rows(second, halves[1]))
    two_rate = count / (time.perf_counter() - started)
    await conn.execute(
        "DELETE FROM embeddings WHERE entity_id LIKE 'raw%' OR entity_id LIKE 'imp%'"
    )
    return (
        f"load {count} rows into the indexed table: raw COPY {raw_rate:.0f} rows/s, "
        f"import path {import_rate:.0f} rows/s published ({import_rate / raw_rate:.2f}x), "
        f"indexed by two workers at {indexing_rate:.0f} rows/s, {until_indexed:.0f} rows/s "
        f"until indexed ({until_indexed / raw_rate:.2f}x); "
        f"raw COPY on two streams {two_rate:.0f} rows/s; PgVectorIndex p50 {waiting_p50:.2f} ms "
        f"with the {count} rows waiting, {indexed_p50:.2f} ms once indexed"
    )


class Searcher:
    """PgVectorIndex.search of one tenant, as a callable the timer takes."""

    def __init__(self, index: PgVectorIndex, target: UUID) -> None:
        self.index, self.target = index, target

    async def __call__(self, query: Any) -> set[str]:
        vector = tuple(query.tolist())
        search = SearchQuery(
            client_id=self.target, embedding=vector, model=HASHING_MODEL, top_k=TOP_K
        )
        return {h.snippet.entity_id for h in await self.index.search(search)}


async def endpoint_figures(
    stack: Stack,
    url: str,
    key: str,
    words: list[str],
    conn: asyncpg.Connection,
    order: str,
    index: Searcher,
) -> list[str]:
    """The endpoint beside the raw query and PgVectorIndex, both given the very vector the
    endpoint's hashing embedder makes of each query text; then where the endpoint's time goes:
    the same requests over a bare HTTP client (no httpx), with the CPU each process spent per
    request (this client, the server, PostgreSQL, Redis)."""
    embedder = HashingEmbedder(DIM)
    vectors = [np.asarray((await embedder.embed([w]))[0], dtype=np.float32) for w in words]
    parts = []
    for name, sql in raw_statements(order):

        async def raw(vector: Any, sql: str = sql) -> set[str]:
            rows = await conn.fetch(sql, vector, index.target, HASHING_MODEL)
            return {r["entity_id"] for r in rows}

        parts.append(f"{name} (same vectors) p50 {(await timed(raw, vectors, None))[0]:.2f}")
    parts.append(f"PgVectorIndex(same) p50 {(await timed(index, vectors, None))[0]:.2f}")
    breakdown = []
    meter = request_meter(stack)
    async with httpx.AsyncClient(base_url=url, headers={"x-api-key": key}) as http:
        for mode in ("vector", "hybrid", "keyword"):

            async def call(text: str, mode: str = mode) -> set[str]:
                body = {"query": text, "top_k": TOP_K, "mode": mode}
                response = await http.post("/api/vectors/search", json=body)
                assert response.status_code == 200, response.text
                return {hit["entity_id"] for hit in response.json()["data"]}

            p50, p99, _ = await timed(call, words, None)
            parts.append(f"{mode} p50 {p50:.2f} p99 {p99:.2f}")
            p50, cpu = await bare_searches(url, key, words, meter, {"mode": mode})
            breakdown.append(
                f"{mode} p50 {p50:.2f}, CPU ms/request: client {cpu['client']:.2f} server "
                f"{cpu['server']:.2f} postgres {cpu['postgres']:.2f} redis {cpu['redis']:.2f}"
            )
    # The floor: the least a web app does for the same search (floor_app.py), bare client too.
    floor = await asyncio.to_thread(serve_floor, stack, key, index.target, order)
    for name, path in (("floor", SEARCH_PATH), ("floor in plain ASGI", BARE_SEARCH_PATH)):
        meter = request_meter(stack, "floor")
        p50, cpu = await bare_searches(floor, key, words, meter, {}, path)
        breakdown.append(
            f"{name} vector p50 {p50:.2f}, CPU ms/request: client {cpu['client']:.2f} floor "
            f"{cpu['server']:.2f} postgres {cpu['postgres']:.2f}"
        )
    return ["endpoint ms: " + " | ".join(parts), "bare HTTP client: " + " | ".join(breakdown)]


SEARCH_PATH = "/api/vectors/search"
BARE_SEARCH_PATH = "/bare/vectors/search"  # floor_app.py's search beneath FastAPI


async def bare_searches(
    url: str,
    key: str,
    words: list[str],
    meter: CpuMeter,
    fields: dict[str, str],
    path: str = SEARCH_PATH,
) -> tuple[float, dict[str, float]]:
    """The p50 of searching each of `words` (with `fields` in the body) over a bare HTTP client,
    and the CPU each process of `meter` spent per request, in ms."""
    # Connected just now: the server closes a keep-alive connection idle for 5 s.
    bare = await RawHttp.connect(url)

    async def call(text: str) -> set[str]:
        body = {"query": text, "top_k": TOP_K, **fields}
        status, sent = await bare.post(path, body, {"x-api-key": key})
        assert status == 200, sent
        return {hit["entity_id"] for hit in sent["data"]}

    meter.start()
    try:
        p50, _, _ = await timed(call, words, None)
    finally:
        await bare.close()
    return p50, {name: used / (len(words) + 10) * 1000 for name, used in meter.stop().items()}


def request_meter(stack: Stack, name: str = "fastwrap") -> CpuMeter:
    """CPU of this process (the client), the server (`name`), PostgreSQL and Redis."""
    server = next(p for p in stack.processes if p.name == name)
    pg = stack.pg_pid
    return CpuMeter(
        {
            "client": lambda: [os.getpid()],
            "server": lambda: [server.pid, *children(server.pid)],
            "postgres": lambda: [pg, *children(pg)] if pg else [],
            "redis": lambda: [redis_pid()],
        }
    )


def serve(stack: Stack) -> str:
    """A fresh `fastwrap serve`, so it sees the index just built (it reads it at start-up)."""
    for process in [p for p in stack.processes if p.name == "fastwrap"]:
        process.stop()
        stack.processes.remove(process)
    # No graph workers of its own: the load figures time two of them, the benchmark's, alone.
    env = {
        "EMBEDDING_DIM": str(DIM), "EMBEDDING_PROVIDER": "hashing",
        "VECTOR_EF_SEARCH": SETTINGS["hnsw.ef_search"], "VECTOR_INDEX_WORKERS": "0",
    }  # fmt: skip
    _process, url = stack.start_fastwrap(env)
    return url


def raw_statements(order: str) -> tuple[tuple[str, str], ...]:
    """The search written by hand: the plain query, and the endpoint's own statement."""
    return (
        ("raw asyncpg+pgvector", raw_search_sql(order)),
        (
            f"raw, the endpoint's statement ({DEFAULT_CANDIDATES} candidates)",
            reranked_search_sql(order, DEFAULT_CANDIDATES),
        ),
    )


def serve_floor(stack: Stack, key: str, target: UUID, order: str) -> str:
    """The floor app (floor_app.py) with a search of its own: tenant `target` by `key`, the
    endpoint's statement by hand, FastWrap's session settings and hashing embedder."""
    for process in [p for p in stack.processes if p.name == "floor"]:
        process.stop()
        stack.processes.remove(process)
    env = {
        "FLOOR_API_KEY": key, "FLOOR_CLIENT_ID": str(target), "EMBEDDING_DIM": str(DIM),
        "FLOOR_SEARCH_SQL": reranked_search_sql(order, DEFAULT_CANDIDATES),
        "FLOOR_PG_SETTINGS": json.dumps(SETTINGS),
    }  # fmt: skip
    _process, url = stack.start_floor(env)
    return url


async def build(conn: asyncpg.Connection, kind: str, create: str) -> str:
    """Run `create` (one HNSW index), then VACUUM ANALYZE and a CHECKPOINT (so the searches
    timed next do not share the cores with the writing out of the index just built); returns
    its build time and size."""
    started = time.perf_counter()
    await conn.execute(create, timeout=None)
    built = time.perf_counter() - started
    await conn.execute("VACUUM ANALYZE embeddings", timeout=None)
    await conn.execute("VACUUM ANALYZE embedding_terms", timeout=None)
    await conn.execute("CHECKPOINT", timeout=None)
    size = await conn.fetchval(
        "SELECT pg_relation_size(indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = "
        "i.indexrelid JOIN pg_am a ON a.oid = c.relam WHERE a.amname = 'hnsw'"
    )
    return f"  index {kind}: built in {built:.1f} s, {size / 1e6:.1f} MB"


async def kind_figures(
    stack: Stack, ids: list[tuple[UUID, str]], kind: str, data: dict[str, Any], args: Any
) -> list[str]:
    order = INDEXES[kind][1]
    conn = await asyncpg.connect(stack.dsn, server_settings=SETTINGS)
    await init_connection(conn)
    lines = [await build(conn, kind, with_graph(INDEXES[kind][0]))]
    url = await asyncio.to_thread(serve, stack)
    target = ids[0][0]
    for name, sql in raw_statements(order):

        async def raw(query: Any, sql: str = sql) -> set[str]:
            return {r["entity_id"] for r in await conn.fetch(sql, query, target, HASHING_MODEL)}

        p50, p99, recall = await timed(raw, data["asked"], data["exact"])
        lines.append(f"  {name}: p50 {p50:.2f} ms p99 {p99:.2f} ms recall@10 {recall:.3f}")
    shape = snippet_index_shape(DIM, half=kind == "half")
    whole_sql = search_statements(
        "embeddings", SNIPPET_FIELDS, SCOPE, SCOPE_PARAMETERS, shape, TERMS
    ).vector

    async def whole(query: Any) -> set[str]:
        scope = (target, HASHING_MODEL, None, None)
        rows = await conn.fetch(whole_sql, *scope, query, TOP_K, DEFAULT_CANDIDATES)
        return {r["entity_id"] for r in rows}

    p50, p99, recall = await timed(whole, data["asked"], data["exact"])
    lines.append(
        f"  raw, the endpoint's statement with its part for waiting rows (none wait): p50 "
        f"{p50:.2f} ms p99 {p99:.2f} ms recall@10 {recall:.3f}"
    )
    pool = await create_pool(stack.dsn, min_size=1, max_size=4, settings=SETTINGS)
    try:
        searchers = {}
        for candidates in args.candidates:
            index = PgVectorIndex(pool, shape=shape, candidates=candidates)
            searchers[candidates] = Searcher(index, target)
            p50, p99, recall = await timed(searchers[candidates], data["asked"], data["exact"])
            lines.append(
                f"  PgVectorIndex candidates={candidates}: p50 {p50:.2f} ms p99 {p99:.2f} ms "
                f"recall@10 {recall:.3f}"
            )
        chosen = searchers[max(searchers)]
        key, words = ids[0][1], data["words"]
        figures = await endpoint_figures(stack, url, key, words, conn, order, chosen)
        lines += ["  " + line for line in figures]
        loaded = await load_figures(pool, conn, target, args.load_rows, chosen, data["asked"])
        lines.append("  " + loaded)
    finally:
        await close_pool(pool)
        for drop in DROP_INDEXES:
            await conn.execute(drop)
        await conn.close()
    return lines


async def load_layout(
    stack: Stack, size: int, tenant_count: int, queries: int
) -> tuple[list[tuple[UUID, str]], dict[str, Any]]:
    """Sign up the tenants, empty `embeddings` of rows and HNSW indexes, COPY `size` clustered
    rows (tenant n % tenant_count owns row n) and draw `queries` paraphrases of tenant 0's
    rows with their exact answers, and as many 3-word keyword queries. Prints the layout."""
    url = await asyncio.to_thread(serve, stack)
    ids = await tenants(url, tenant_count)
    rng = np.random.default_rng(size + tenant_count)
    vectors = clustered(rng, size)
    owners = [ids[n % tenant_count][0] for n in range(size)]
    conn = await asyncpg.connect(stack.dsn)
    await init_connection(conn)
    await conn.execute("TRUNCATE embeddings, embedding_terms")
    for drop in DROP_INDEXES:
        await conn.execute(drop)
    rate = await copy_rows(conn, records(owners, vectors, texts(rng, size), HASHING_MODEL))
    await conn.close()
    mine = np.array([n % tenant_count == 0 for n in range(size)])
    asked = paraphrases(rng, vectors, rng.choice(np.flatnonzero(mine), queries))
    words = [" ".join(f"term{w}" for w in rng.integers(0, 2000, 3)) for _ in range(queries)]
    data = {"asked": asked, "exact": exact_answers(vectors, mine, asked), "words": words}
    print(
        f"rows={size} tenants={tenant_count} (searched tenant holds {int(mine.sum())}), "
        f"dim={DIM}: COPY without the HNSW index {rate:.0f} rows/s",
        flush=True,
    )
    return ids, data


async def layout(stack: Stack, size: int, tenant_count: int, args: Any) -> None:
    ids, data = await load_layout(stack, size, tenant_count, args.queries)
    for kind in args.kinds:
        for line in await kind_figures(stack, ids, kind, data, args):
            print(line, flush=True)


async def run_all(stack: Stack, args: Any) -> None:
    for size in args.sizes:
        for tenant_count in args.tenants:
            await layout(stack, size, tenant_count, args)


def main(args: Any) -> None:
    SETTINGS.update(session_settings(iterative_scan=True, ef_search=args.ef_search))
    if args.graph:
        GRAPH.update(m=args.graph[0], ef_construction=args.graph[1])
    with start_stack() as stack:
        asyncio.run(run_all(stack, args))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--tenants", type=int, nargs="+", default=[1, 10])
    parser.add_argument("--kinds", nargs="+", default=["half", "full"], choices=list(INDEXES))
    parser.add_argument("--candidates", type=int, nargs="+", default=[10, 40])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument(
        "--ef-search", type=int, default=DEFAULT_EF_SEARCH, help="hnsw.ef_search everywhere"
    )
    parser.add_argument("--load-rows", type=int, default=1000)
    parser.add_argument(
        "--graph", type=int, nargs=2, metavar=("M", "EF_CONSTRUCTION"),
        help="HNSW build options (default: the migrations')",
    )  # fmt: skip
    main(parser.parse_args())
