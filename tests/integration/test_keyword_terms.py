"""The snippets' words in their own narrow table (migration 0015): keyword and hybrid searches
through it return exactly what the same statements over the snippets' own column return, and
snippets stored before the migration are found after it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from uuid import uuid4

import asyncpg
import numpy as np
import pytest

from fastwrap.adapters.bundles import Storage
from fastwrap.adapters.postgres.migrate import (
    CREATE_APP_SCHEMA,
    RECORD_APPLIED,
    load_migrations,
    migrate,
    run_migration,
)
from fastwrap.adapters.postgres.pool import init_connection
from fastwrap.adapters.postgres.search_sql import search_statements
from fastwrap.adapters.postgres.storage import open_postgres_storage, snippet_index_shape
from fastwrap.adapters.postgres.vectors import (
    SCOPE,
    SCOPE_PARAMETERS,
    SNIPPET_FIELDS,
    TERMS,
    session_settings,
)
from fastwrap.domain.model import Client, EmbeddedSnippet, SearchQuery

pytestmark = pytest.mark.integration

DIM = 8
NOW = datetime(2026, 1, 1, tzinfo=UTC)
TERMS_VERSION = 15


@pytest.fixture
def pg_embedding_dim() -> int:
    return DIM


SHAPE = snippet_index_shape(DIM, half=True)  # the statements PgVectorIndex runs


@asynccontextmanager
async def searching(dsn: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection set up as the pool's are (session settings, vector codec)."""
    settings = session_settings(iterative_scan=True, ef_search=100)
    conn = await asyncpg.connect(dsn, server_settings=settings)
    try:
        await init_connection(conn)
        yield conn
    finally:
        await conn.close()


def client() -> Client:
    uid = uuid4()
    return Client(
        id=uid, email=f"{uid.hex[:12]}@example.com", password_hash="h", key_digest=uid.hex * 2,
        created_at=NOW, updated_at=NOW,
    )  # fmt: skip


async def store_snippets(pg_storage: Storage, rng: np.random.Generator) -> list[Client]:
    """Two tenants' 600 snippets of 8 words from 60 (a word matches about 40 of a tenant's),
    every 7th deleted."""
    tenants = [client(), client()]
    for tenant in tenants:
        await pg_storage.clients.add(tenant)
    for start in range(0, 600, 100):
        batch = [
            EmbeddedSnippet(
                client_id=tenants[n % 2].id, entity_type=("faq", "doc")[n % 3 == 0],
                entity_id=str(n), content=" ".join(f"w{w}" for w in rng.integers(0, 60, 8)),
                metadata={"lang": ("en", "fr")[n % 5 == 0]},
                embedding=tuple(rng.standard_normal(DIM)), model="m",
            )
            for n in range(start, start + 100)
        ]  # fmt: skip
        await pg_storage.vectors.upsert(batch, NOW)
    for n in range(0, 600, 7):
        await pg_storage.vectors.delete(tenants[n % 2].id, ("faq", "doc")[n % 3 == 0], str(n), NOW)
    return tenants


def queries(
    rng: np.random.Generator, tenants: list[Client]
) -> Iterator[tuple[str, tuple[float, ...], tuple[object, ...]]]:
    """30 searches over store_snippets' rows: (text of 1-4 words, vector, scope parameters),
    the scope alternating tenants, with a type filter on every 3rd and a metadata filter on
    every 4th."""
    for q in range(30):
        text = " ".join(f"w{w}" for w in rng.integers(0, 60, 1 + q % 4))
        vector = tuple(rng.standard_normal(DIM))
        scope = (
            tenants[q % 2].id, "m", ["doc"] if q % 3 == 0 else None,
            {"lang": "fr"} if q % 4 == 0 else None,
        )  # fmt: skip
        yield text, vector, scope


async def test_the_narrow_table_gives_the_same_hits_in_the_same_order(
    pg_storage: Storage, pg_dsn: str
) -> None:
    rng = np.random.default_rng(15)
    tenants = await store_snippets(pg_storage, rng)
    wide = search_statements("embeddings", SNIPPET_FIELDS, SCOPE, SCOPE_PARAMETERS, SHAPE)
    narrow = search_statements("embeddings", SNIPPET_FIELDS, SCOPE, SCOPE_PARAMETERS, SHAPE, TERMS)
    async with searching(pg_dsn) as conn:
        compared = 0
        for text, vector, scope in queries(rng, tenants):
            for mode, args in (("keyword", (text, 10)), ("hybrid", (vector, text, 10, 40))):
                statements = [getattr(s, mode) for s in (wide, narrow)]
                before, after = [[tuple(r) for r in await conn.fetch(s, *scope, *args)]
                                 for s in statements]  # fmt: skip
                assert after == before, (mode, text, scope)
                compared += bool(before)
        assert compared >= 50  # the queries do find things


async def test_a_hybrid_hit_carries_its_rank_in_each_part_searched_alone(
    pg_storage: Storage, pg_dsn: str
) -> None:
    """The ranks the fusion uses are the hit's places in the keyword and the vector search of
    the same depth, however many rows match beyond that depth."""
    rng = np.random.default_rng(16)
    tenants = await store_snippets(pg_storage, rng)
    sql = search_statements("embeddings", SNIPPET_FIELDS, SCOPE, SCOPE_PARAMETERS, SHAPE, TERMS)
    depth = 40
    async with searching(pg_dsn) as conn:
        deeper = 0
        for text, vector, scope in queries(rng, tenants):
            words = [r["id"] for r in await conn.fetch(sql.keyword, *scope, text, depth + 1)]
            deeper += len(words) > depth
            words = words[:depth]
            nearest = [r["id"] for r in await conn.fetch(sql.vector, *scope, vector, depth, depth)]
            hits = await conn.fetch(sql.hybrid, *scope, vector, text, 10, depth)
            assert hits, (text, scope)
            for hit in hits:
                keyword_rank = words.index(hit["id"]) + 1 if hit["id"] in words else None
                vector_rank = nearest.index(hit["id"]) + 1 if hit["id"] in nearest else None
                assert (hit["keyword_rank"], hit["vector_rank"]) == (keyword_rank, vector_rank)
        assert deeper >= 10  # many queries match more rows than the depth


async def test_snippets_stored_before_the_migration_are_found_by_their_words(
    pg_empty_dsn: str,
) -> None:
    conn = await asyncpg.connect(pg_empty_dsn)
    try:  # the schema as it was before 0015, holding a live and a deleted snippet
        await conn.execute(CREATE_APP_SCHEMA)
        for migration in load_migrations():
            if migration.version < TERMS_VERSION:
                await run_migration(conn, migration, DIM)
                await conn.execute(RECORD_APPLIED, migration.version, migration.name)
        owner = client()
        await conn.execute(
            "INSERT INTO clients (id, email, password_hash, key_digest) VALUES ($1, $2, 'h', $3)",
            owner.id, owner.email, owner.key_digest,
        )  # fmt: skip
        for entity_id, deleted in (("kept", None), ("gone", NOW)):
            await conn.execute(
                "INSERT INTO embeddings (client_id, entity_type, entity_id, content, embedding,"
                " model, deleted_at) VALUES ($1, 'doc', $2, 'refund policy', $3, 'm', $4)",
                owner.id, entity_id, "[" + ",".join(["1"] * DIM) + "]", deleted,
            )  # fmt: skip
    finally:
        await conn.close()

    later = [f"{m.version:04d}_{m.name}" for m in load_migrations() if m.version > TERMS_VERSION]
    assert await migrate(pg_empty_dsn, DIM) == [f"{TERMS_VERSION:04d}_embedding_terms", *later]

    async with open_postgres_storage(
        pg_empty_dsn, adapter="postgres", pool_min=1, pool_max=2, embedding_dim=DIM
    ) as storage:
        for mode in ("keyword", "hybrid"):
            query = SearchQuery(
                client_id=owner.id, embedding=(1.0,) * DIM, model="m", top_k=5, mode=mode,
                text="refund",
            )  # fmt: skip
            assert [h.snippet.entity_id for h in await storage.vectors.search(query)] == ["kept"]
