"""The PostgreSQL store of record, as one Storage bundle for the container.

Opening it migrates the database and checks the vector dimension on a connection of its own
(the pool's codecs need the `vector` type the first migration creates), then starts the pool.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from fastwrap.adapters.bundles import ClientStore, Storage
from fastwrap.adapters.postgres.bulk import PgGraphBacklog, PgSnippetLoader
from fastwrap.adapters.postgres.cached import CachedCharacterRepository, CachedClientStore
from fastwrap.adapters.postgres.cached_keys import CachedEndUserTokenStore, CachedKeyStore
from fastwrap.adapters.postgres.changes import ChangeFeed
from fastwrap.adapters.postgres.characters import PgCharacterRepository
from fastwrap.adapters.postgres.clients import PgClientRepository
from fastwrap.adapters.postgres.documents import PgDocumentStore
from fastwrap.adapters.postgres.errors import translated, unavailable
from fastwrap.adapters.postgres.jobs import PgJobQueue
from fastwrap.adapters.postgres.keys import PgEndUserTokenStore, PgKeyStore
from fastwrap.adapters.postgres.memory import PgMemoryStore
from fastwrap.adapters.postgres.migrate import apply_migrations, check_embedding_dim, connect
from fastwrap.adapters.postgres.pool import close_pool, create_pool
from fastwrap.adapters.postgres.search_sql import VectorIndexShape
from fastwrap.adapters.postgres.usage import PgUsageLedger
from fastwrap.adapters.postgres.vectors import DEFAULT_EF_SEARCH, PgVectorIndex, session_settings
from fastwrap.domain.model import HealthStatus
from fastwrap.ports.health import HealthProbe
from fastwrap.ports.keys import EndUserTokenStore, KeyStore
from fastwrap.ports.repositories import CharacterRepository

HEALTH_TIMEOUT = 2.0
VECTOR_VERSION = "SELECT extversion FROM pg_extension WHERE extname = 'vector'"
HALF_INDEX_EXISTS = "SELECT to_regclass('embeddings_embedding_hnsw_half') IS NOT NULL"
ITERATIVE_SCAN_SINCE = (0, 8)


class PgHealthProbe(HealthProbe):
    def __init__(self, pool: asyncpg.Pool, adapter: str) -> None:
        self._pool = pool
        self._adapter = adapter

    async def check(self) -> HealthStatus:
        try:
            async with asyncio.timeout(HEALTH_TIMEOUT), self._pool.acquire() as conn:
                await conn.fetchval("SELECT 1")
        except Exception as exc:  # a probe reports, it never raises
            detail = unavailable(exc).detail
            return HealthStatus(ok=False, adapter=self._adapter, detail=detail)
        return HealthStatus(ok=True, adapter=self._adapter)


def supports_iterative_scan(version: str | None) -> bool:
    try:
        parts = tuple(int(p) for p in (version or "").split(".")[:2])
    except ValueError:
        return False
    return parts >= ITERATIVE_SCAN_SINCE


def snippet_index_shape(embedding_dim: int, *, half: bool) -> VectorIndexShape:
    """The snippets' HNSW index: on halfvec or not (0009), without the rows a bulk load left
    waiting for it (0017, 0018), which searches rank exactly beside it."""
    return VectorIndexShape(dim=embedding_dim, half=half, pending="graph_pending")


async def prepare_database(dsn: str, embedding_dim: int) -> tuple[bool, VectorIndexShape]:
    """Migrate, refuse a mismatched EMBEDDING_DIM, and say whether pgvector scans iteratively
    and which expression the HNSW index is on."""
    conn = await connect(dsn)
    try:
        await apply_migrations(conn, embedding_dim)
        await check_embedding_dim(conn, embedding_dim)
        with translated():
            version = await conn.fetchval(VECTOR_VERSION)
            half = bool(await conn.fetchval(HALF_INDEX_EXISTS))
    finally:
        await conn.close()
    return supports_iterative_scan(version), snippet_index_shape(embedding_dim, half=half)


@asynccontextmanager
async def open_postgres_storage(
    dsn: str,
    *,
    adapter: str,
    pool_min: int,
    pool_max: int,
    embedding_dim: int,
    ef_search: int = DEFAULT_EF_SEARCH,
    lookup_cache_size: int = 0,
    usage_synchronous_commit: bool = False,
) -> AsyncIterator[Storage]:
    """Storage on the database at `dsn` ("postgres", or "embedded" for the built-in server).

    `ef_search` is the HNSW candidate list of every search (recall against latency).
    `usage_synchronous_commit`: the usage ledger's commits wait for the WAL flush (usage.py).
    `lookup_cache_size` > 0 keeps up to that many key and character lookups in memory, dropped
    as the database announces changes (cached.py); 0 asks the database every time.
    """
    iterative, shape = await prepare_database(dsn, embedding_dim)
    settings = session_settings(iterative_scan=iterative, ef_search=ef_search)
    pool = await create_pool(dsn, min_size=pool_min, max_size=pool_max, settings=settings)
    commit = "on" if usage_synchronous_commit else "off"
    usage_writes = await create_pool(
        dsn, min_size=1, max_size=2, settings={"synchronous_commit": commit}
    )
    clients: ClientStore = PgClientRepository(pool)
    characters: CharacterRepository = PgCharacterRepository(pool)
    keys: KeyStore = PgKeyStore(pool)
    tokens: EndUserTokenStore = PgEndUserTokenStore(pool)
    feed = ChangeFeed(dsn) if lookup_cache_size > 0 else None
    try:
        if feed is not None:
            await feed.start()
            clients = CachedClientStore(clients, feed, lookup_cache_size)
            characters = CachedCharacterRepository(characters, feed, lookup_cache_size)
            keys = CachedKeyStore(keys, feed, lookup_cache_size)
            tokens = CachedEndUserTokenStore(tokens, feed, lookup_cache_size)
        yield Storage(
            clients=clients,
            characters=characters,
            vectors=PgVectorIndex(pool, shape=shape),
            health=PgHealthProbe(pool, adapter),
            adapter=adapter,
            snippet_loader=PgSnippetLoader(pool),
            graph_backlog=PgGraphBacklog(pool),
            documents=PgDocumentStore(pool),
            jobs=PgJobQueue(pool),
            keys=keys,
            tokens=tokens,
            usage=PgUsageLedger(pool, usage_writes),
            memory=PgMemoryStore(pool, usage_writes),
        )
    finally:
        if feed is not None:
            await feed.close()
        await close_pool(usage_writes)
        await close_pool(pool)
