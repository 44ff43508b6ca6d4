"""Migrations and start-up checks against a real PostgreSQL with pgvector."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

import asyncpg
import numpy as np
import pytest

from fastwrap.adapters.postgres.migrate import (
    HNSW_OPTIONS,
    VECTOR_INDEX_VERSIONS,
    load_migrations,
    migrate,
    reset_embeddings,
    status,
)
from fastwrap.adapters.postgres.storage import open_postgres_storage
from fastwrap.domain.errors import ConfigurationError, Unavailable
from fastwrap.domain.memory_items import MemoryItem
from fastwrap.domain.model import Client, EmbeddedSnippet, SearchQuery

pytestmark = pytest.mark.integration

ALL = [f"{m.version:04d}_{m.name}" for m in load_migrations()]
NOW = datetime(2026, 1, 1, tzinfo=UTC)


async def fetch(dsn: str, sql: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(dsn)
    try:
        return list(await conn.fetch(sql))
    finally:
        await conn.close()


async def test_an_empty_database_gets_every_migration_in_order(pg_empty_dsn: str) -> None:
    before = await status(pg_empty_dsn)
    assert before.applied == ()
    assert [m.name for m in before.pending] == [m.name for m in load_migrations()]

    assert await migrate(pg_empty_dsn, 8) == ALL

    after = await status(pg_empty_dsn)
    assert [a.version for a in after.applied] == [m.version for m in load_migrations()]
    assert after.pending == ()
    tables = await fetch(
        pg_empty_dsn,
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename",
    )
    assert [t["tablename"] for t in tables] == [
        "api_keys", "app_schema", "characters", "clients", "documents", "embedding_terms",
        "embeddings", "end_user_tokens", "jobs", "memory_items", "usage_records",
    ]  # fmt: skip
    assert await vector_indexes(pg_empty_dsn) == {"embeddings_embedding_hnsw_half": True}
    assert await graph_options(pg_empty_dsn) == HNSW_OPTIONS
    assert await graph_predicate(pg_empty_dsn) == GRAPH_PREDICATE


# The rows the HNSW index holds: live ones, not waiting for their insert (0017, 0018).
GRAPH_PREDICATE = "((deleted_at IS NULL) AND (NOT graph_pending))"
INDEXED = "deleted_at IS NULL AND NOT graph_pending"  # what a query says to use the index


async def graph_predicate(dsn: str) -> str:
    [row] = await fetch(
        dsn,
        """SELECT pg_get_expr(indpred, indrelid) AS predicate FROM pg_index
           WHERE indexrelid = 'embeddings_embedding_hnsw_half'::regclass""",
    )
    return str(row["predicate"])


async def graph_options(dsn: str) -> dict[str, int]:
    """The HNSW index's build options (m, ef_construction), as PostgreSQL holds them."""
    [row] = await fetch(
        dsn, "SELECT reloptions FROM pg_class WHERE relname = 'embeddings_embedding_hnsw_half'"
    )
    return {k: int(v) for k, v in (option.split("=") for option in row["reloptions"] or ())}


async def vector_indexes(dsn: str) -> dict[str, bool]:
    """The HNSW indexes on embeddings, and whether each is valid."""
    rows = await fetch(
        dsn,
        """SELECT c.relname, i.indisvalid FROM pg_index AS i
           JOIN pg_class AS c ON c.oid = i.indexrelid JOIN pg_am AS am ON am.oid = c.relam
           WHERE i.indrelid = 'embeddings'::regclass AND am.amname = 'hnsw'""",
    )
    return {row["relname"]: row["indisvalid"] for row in rows}


def test_the_index_files_split_into_their_statements() -> None:
    index_files = [m for m in load_migrations() if m.version in VECTOR_INDEX_VERSIONS]
    create, rebuild, without_pending = index_files
    for migration in index_files:
        assert not migration.transactional
        assert (migration.applies_to(4000), migration.applies_to(4001)) == (True, False)
    statements = create.statements(1536)
    assert [s.split()[:3] for s in statements] == [
        ["DROP", "INDEX", "CONCURRENTLY"],
        ["CREATE", "INDEX", "CONCURRENTLY"],
        ["DROP", "INDEX", "CONCURRENTLY"],
    ]
    assert "halfvec(1536)" in statements[1]
    assert [s.split()[:3] for s in rebuild.statements(1536)] == [
        ["DROP", "INDEX", "CONCURRENTLY"],
        ["DROP", "INDEX", "CONCURRENTLY"],
        ["ALTER", "INDEX", "embeddings_embedding_hnsw_half"],
        ["REINDEX", "INDEX", "CONCURRENTLY"],
    ]
    statements = without_pending.statements(1536)
    assert [s.split()[:3] for s in statements] == [
        ["DROP", "INDEX", "CONCURRENTLY"],
        ["CREATE", "INDEX", "CONCURRENTLY"],
        ["DROP", "INDEX", "CONCURRENTLY"],
        ["ALTER", "INDEX", "embeddings_embedding_hnsw_next"],
    ]
    assert "halfvec(1536)" in statements[1]
    assert all(m.transactional for m in load_migrations() if m.version not in VECTOR_INDEX_VERSIONS)


@pytest.mark.parametrize(
    ("dim", "expected"),
    [
        (8, {"embeddings_embedding_hnsw_half": True}),
        (3000, {"embeddings_embedding_hnsw_half": True}),  # no full-precision index at 3,000
        (5000, {}),  # halfvec indexes stop at 4,000: searches are exact scans
    ],
)
async def test_the_vector_index_follows_the_dimension(
    pg_empty_dsn: str, dim: int, expected: dict[str, bool]
) -> None:
    assert await migrate(pg_empty_dsn, dim) == ALL
    assert await vector_indexes(pg_empty_dsn) == expected
    client = Client(
        id=uuid4(), email="d@example.com", password_hash="h", key_digest="e" * 64,
        created_at=NOW, updated_at=NOW,
    )  # fmt: skip
    options = {"adapter": "postgres", "pool_min": 1, "pool_max": 2}
    async with open_postgres_storage(pg_empty_dsn, embedding_dim=dim, **options) as storage:
        await storage.clients.add(client)
        rows = [
            EmbeddedSnippet(
                client_id=client.id, entity_type="doc", entity_id=str(n), content=f"row {n}",
                metadata={}, embedding=tuple(float(n == i) for i in range(dim)), model="m",
            )
            for n in range(3)
        ]  # fmt: skip
        await storage.vectors.upsert(rows, NOW)
        query = SearchQuery(client_id=client.id, embedding=rows[1].embedding, model="m", top_k=2)
        [best, _] = await storage.vectors.search(query)
        assert (best.snippet.entity_id, best.distance) == ("1", pytest.approx(0.0, abs=1e-6))


async def test_an_index_build_cut_short_is_rebuilt_on_the_next_run(pg_empty_dsn: str) -> None:
    await migrate(pg_empty_dsn, 8)
    conn = await asyncpg.connect(pg_empty_dsn)
    try:  # what a crash in 0009 leaves: no record of it or of 0016, an invalid index, the old one
        await conn.execute("DELETE FROM app_schema WHERE version = ANY($1)", VECTOR_INDEX_VERSIONS)
        await conn.execute(
            "UPDATE pg_index SET indisvalid = false "
            "WHERE indexrelid = 'embeddings_embedding_hnsw_half'::regclass"
        )
        await conn.execute(
            "CREATE INDEX embeddings_embedding_hnsw ON embeddings "
            "USING hnsw (embedding vector_cosine_ops) WHERE deleted_at IS NULL"
        )
    finally:
        await conn.close()
    assert await vector_indexes(pg_empty_dsn) == {
        "embeddings_embedding_hnsw_half": False, "embeddings_embedding_hnsw": True,
    }  # fmt: skip

    assert await migrate(pg_empty_dsn, 8) == [
        "0009_halfvec_index", "0016_hnsw_graph", "0018_graph_skips_pending",
    ]  # fmt: skip
    assert await vector_indexes(pg_empty_dsn) == {"embeddings_embedding_hnsw_half": True}
    assert await graph_options(pg_empty_dsn) == HNSW_OPTIONS
    assert await graph_predicate(pg_empty_dsn) == GRAPH_PREDICATE


async def undo_the_graph_migration(conn: asyncpg.Connection) -> None:
    """The index as a deployment from before 0016 has it: pgvector's default graph."""
    await conn.execute("DELETE FROM app_schema WHERE version = 16")
    await conn.execute("ALTER INDEX embeddings_embedding_hnsw_half RESET (m, ef_construction)")
    await conn.execute("REINDEX INDEX embeddings_embedding_hnsw_half")


async def test_the_graph_is_rebuilt_while_searches_and_writes_go_on(pg_empty_dsn: str) -> None:
    await migrate(pg_empty_dsn, 8)
    client = Client(
        id=uuid4(), email="w@example.com", password_hash="h", key_digest="a" * 64,
        created_at=NOW, updated_at=NOW,
    )  # fmt: skip
    rng = np.random.default_rng(16)

    def snippet(n: int) -> EmbeddedSnippet:
        return EmbeddedSnippet(
            client_id=client.id, entity_type="doc", entity_id=str(n), content=f"row {n}",
            metadata={}, embedding=tuple(rng.standard_normal(8).tolist()), model="m",
        )  # fmt: skip

    options = {"adapter": "postgres", "pool_min": 1, "pool_max": 2}
    holder = await asyncpg.connect(pg_empty_dsn)
    try:
        async with open_postgres_storage(pg_empty_dsn, embedding_dim=8, **options) as storage:
            await storage.clients.add(client)
            before = [snippet(n) for n in range(100)]
            await storage.vectors.upsert(before, NOW)
            await undo_the_graph_migration(holder)
            assert await graph_options(pg_empty_dsn) == {}
            # An old snapshot held open: REINDEX CONCURRENTLY waits for it before its swap,
            # with the new index built and already taking inserts.
            held = holder.transaction(isolation="repeatable_read")
            await held.start()
            await holder.fetchval("SELECT count(*) FROM embeddings")
            rebuild = asyncio.create_task(migrate(pg_empty_dsn, 8))
            await wait_for_phase(storage_dsn=pg_empty_dsn, phase="waiting for old snapshots")

            during = [snippet(n) for n in range(100, 110)]
            await storage.vectors.upsert(during, NOW)
            for row in during:
                query = SearchQuery(
                    client_id=client.id, embedding=row.embedding, model="m", top_k=1
                )
                [best] = await storage.vectors.search(query)
                assert best.snippet.entity_id == row.entity_id
            assert not rebuild.done()  # all that went on while the rebuild waited
            await held.rollback()
            assert await rebuild == ["0016_hnsw_graph"]
    finally:
        await holder.close()
    assert await graph_options(pg_empty_dsn) == HNSW_OPTIONS
    assert await vector_indexes(pg_empty_dsn) == {"embeddings_embedding_hnsw_half": True}
    conn = await asyncpg.connect(pg_empty_dsn)
    try:  # the rows stored before and written during the rebuild are in the new index (the
        # index alone answers)
        await conn.execute("SET enable_seqscan = off")
        await conn.execute("SET hnsw.ef_search = 100")
        for row in before[::10] + during:
            nearest = await conn.fetchval(
                f"SELECT entity_id FROM embeddings WHERE {INDEXED} "
                "ORDER BY embedding::halfvec(8) <=> $1::float4[]::vector::halfvec(8) LIMIT 1",
                list(row.embedding),
            )
            assert nearest == row.entity_id
        plan = await conn.fetch(
            f"EXPLAIN SELECT entity_id FROM embeddings WHERE {INDEXED} "
            "ORDER BY embedding::halfvec(8) <=> '[1,0,0,0,0,0,0,0]'::vector::halfvec(8) LIMIT 1"
        )
        assert "embeddings_embedding_hnsw_half" in "\n".join(r[0] for r in plan)
    finally:
        await conn.close()


async def wait_for_phase(storage_dsn: str, phase: str) -> None:
    """Until an index build reports `phase` (pg_stat_progress_create_index)."""
    conn = await asyncpg.connect(storage_dsn)
    try:
        async with asyncio.timeout(60):  # a bound against a hang, not a measurement
            while (
                await conn.fetchval(
                    "SELECT count(*) FROM pg_stat_progress_create_index WHERE phase = $1", phase
                )
                == 0
            ):
                await asyncio.sleep(0.02)
    finally:
        await conn.close()


@pytest.mark.parametrize("leftover", ["ccnew", "ccold"])
async def test_a_rebuild_cut_short_is_redone_on_the_next_run(
    pg_empty_dsn: str, leftover: str
) -> None:
    await migrate(pg_empty_dsn, 8)
    conn = await asyncpg.connect(pg_empty_dsn)
    try:  # what a crash in 0016's REINDEX leaves: no record of it, an invalid copy of the index
        await undo_the_graph_migration(conn)
        await conn.execute(
            f"CREATE INDEX embeddings_embedding_hnsw_half_{leftover} ON embeddings USING hnsw "
            "((embedding::halfvec(8)) halfvec_cosine_ops) WHERE deleted_at IS NULL"
        )
        await conn.execute(
            "UPDATE pg_index SET indisvalid = false "
            f"WHERE indexrelid = 'embeddings_embedding_hnsw_half_{leftover}'::regclass"
        )
    finally:
        await conn.close()
    assert await graph_options(pg_empty_dsn) == {}

    assert await migrate(pg_empty_dsn, 8) == ["0016_hnsw_graph"]
    assert await vector_indexes(pg_empty_dsn) == {"embeddings_embedding_hnsw_half": True}
    assert await graph_options(pg_empty_dsn) == HNSW_OPTIONS


@pytest.mark.parametrize("crash", ["while building", "before the rename"])
async def test_the_index_without_pending_rows_replaces_the_old_one_and_survives_a_crash(
    pg_empty_dsn: str, crash: str
) -> None:
    await migrate(pg_empty_dsn, 8)
    rng = np.random.default_rng(18)
    vectors = [rng.standard_normal(8).tolist() for _ in range(50)]
    conn = await asyncpg.connect(pg_empty_dsn)
    try:  # a deployment from before 0017/0018: rows stored, the index over every live row
        client = uuid4()
        await conn.execute(
            "INSERT INTO clients (id, email, password_hash, key_digest, created_at, updated_at)"
            " VALUES ($1, 'x@example.com', 'h', $2, now(), now())", client, "b" * 64,
        )  # fmt: skip
        await conn.executemany(
            "INSERT INTO embeddings (client_id, entity_type, entity_id, content, metadata,"
            " embedding, model, created_at, updated_at)"
            " VALUES ($1, 'doc', $2, 'x', '{}', $3::float4[]::vector, 'm', now(), now())",
            [(client, str(n), vector) for n, vector in enumerate(vectors)],
        )
        await conn.execute("DELETE FROM app_schema WHERE version = 18")
        await conn.execute("DROP INDEX embeddings_embedding_hnsw_half")
        await conn.execute(
            "CREATE INDEX embeddings_embedding_hnsw_half ON embeddings USING hnsw "
            "((embedding::halfvec(8)) halfvec_cosine_ops) WITH (m = 8, ef_construction = 128) "
            "WHERE deleted_at IS NULL"
        )
        if crash == "while building":  # an invalid new index beside the old one
            await conn.execute(
                "CREATE INDEX embeddings_embedding_hnsw_next ON embeddings USING hnsw "
                "((embedding::halfvec(8)) halfvec_cosine_ops) WHERE deleted_at IS NULL"
            )
            await conn.execute(
                "UPDATE pg_index SET indisvalid = false "
                "WHERE indexrelid = 'embeddings_embedding_hnsw_next'::regclass"
            )
        else:  # the new index built, the old one dropped, the new one not renamed yet
            await conn.execute("DROP INDEX embeddings_embedding_hnsw_half")
            await conn.execute(
                "CREATE INDEX embeddings_embedding_hnsw_next ON embeddings USING hnsw "
                "((embedding::halfvec(8)) halfvec_cosine_ops) WITH (m = 8, ef_construction = 128) "
                f"WHERE {INDEXED}"
            )
    finally:
        await conn.close()

    assert await migrate(pg_empty_dsn, 8) == ["0018_graph_skips_pending"]
    assert await vector_indexes(pg_empty_dsn) == {"embeddings_embedding_hnsw_half": True}
    assert await graph_predicate(pg_empty_dsn) == GRAPH_PREDICATE
    assert await graph_options(pg_empty_dsn) == HNSW_OPTIONS
    conn = await asyncpg.connect(pg_empty_dsn)
    try:  # every row stored before is in the new index (the index alone answers)
        await conn.execute("SET enable_seqscan = off")
        await conn.execute("SET hnsw.ef_search = 100")
        for n, vector in enumerate(vectors):
            nearest = await conn.fetchval(
                f"SELECT entity_id FROM embeddings WHERE {INDEXED} "
                "ORDER BY embedding::halfvec(8) <=> $1::float4[]::vector::halfvec(8) LIMIT 1",
                vector,
            )
            assert nearest == str(n)
    finally:
        await conn.close()


async def test_a_second_run_is_a_no_op(pg_empty_dsn: str) -> None:
    await migrate(pg_empty_dsn, 8)
    recorded = await fetch(pg_empty_dsn, "SELECT * FROM app_schema ORDER BY version")

    assert await migrate(pg_empty_dsn, 8) == []
    assert await fetch(pg_empty_dsn, "SELECT * FROM app_schema ORDER BY version") == recorded


async def test_concurrent_runners_apply_each_migration_once(pg_empty_dsn: str) -> None:
    results = await asyncio.gather(*(migrate(pg_empty_dsn, 8) for _ in range(3)))

    assert sorted(name for result in results for name in result) == sorted(ALL)
    rows = await fetch(pg_empty_dsn, "SELECT version FROM app_schema")
    assert len(rows) == len(ALL)


async def test_a_changed_embedding_dim_stops_start_up_with_the_way_out(pg_empty_dsn: str) -> None:
    await migrate(pg_empty_dsn, 8)

    with pytest.raises(ConfigurationError, match=r"EMBEDDING_DIM=16 .* 8 dimensions") as caught:
        async with open_postgres_storage(
            pg_empty_dsn, adapter="postgres", pool_min=1, pool_max=2, embedding_dim=16
        ):
            pass
    assert "EMBEDDING_DIM=8" in caught.value.detail
    assert "reset-embeddings" in caught.value.detail


async def test_resetting_embeddings_moves_the_store_to_a_new_dimension(pg_empty_dsn: str) -> None:
    client = Client(
        id=uuid4(), email="a@example.com", password_hash="h", key_digest="d" * 64,
        created_at=NOW, updated_at=NOW,
    )  # fmt: skip
    options = {"adapter": "postgres", "pool_min": 1, "pool_max": 2}
    async with open_postgres_storage(pg_empty_dsn, embedding_dim=8, **options) as storage:
        await storage.clients.add(client)
        snippet = EmbeddedSnippet(
            client_id=client.id, entity_type="doc", entity_id="1", content="x", metadata={},
            embedding=(1.0,) * 8, model="m",
        )  # fmt: skip
        await storage.vectors.upsert([snippet], NOW)
        remembered = MemoryItem(
            id=uuid4(), client_id=client.id, character_id=uuid4(), end_user="ann",
            conversation_id="c1", seq=1, content="User: hi\nAssistant: ahoy", created_at=NOW,
        )  # fmt: skip
        await storage.memory.add([remembered])
        await storage.memory.claim(NOW, NOW, 10)
        await storage.memory.embedded([(remembered.id, (1.0,) * 8)], "m")

    assert await reset_embeddings(pg_empty_dsn, 16) == 1
    assert await vector_indexes(pg_empty_dsn) == {"embeddings_embedding_hnsw_half": True}
    assert await graph_options(pg_empty_dsn) == HNSW_OPTIONS
    assert await graph_predicate(pg_empty_dsn) == GRAPH_PREDICATE

    async with open_postgres_storage(pg_empty_dsn, embedding_dim=16, **options) as storage:
        query = SearchQuery(client_id=client.id, embedding=(1.0,) * 16, model="m", top_k=5)
        assert await storage.vectors.search(query) == []
        assert await storage.clients.get(client.id) == client
        # Memory keeps its text, to be embedded again at the new dimension.
        [kept] = await storage.memory.claim(NOW, NOW, 10)
        assert kept.id == remembered.id
        assert not kept.embedded
        await storage.memory.embedded([(kept.id, (1.0,) * 16)], "m")


async def test_an_unreachable_database_is_unavailable(tmp_path: Path) -> None:
    nowhere = f"postgresql://postgres@/fastwrap?host={tmp_path}"

    with pytest.raises(Unavailable, match="database unavailable"):
        async with open_postgres_storage(
            nowhere, adapter="postgres", pool_min=1, pool_max=2, embedding_dim=8
        ):
            pass


async def test_a_closed_pool_is_unavailable_and_unhealthy(
    pg_dsn: str, pg_embedding_dim: int
) -> None:
    async with open_postgres_storage(
        pg_dsn, adapter="postgres", pool_min=1, pool_max=2, embedding_dim=pg_embedding_dim
    ) as storage:
        assert (await storage.health.check()).ok

    with pytest.raises(Unavailable, match="database unavailable"):
        await storage.clients.get(uuid4())
    health = await storage.health.check()
    assert (health.ok, health.adapter) == (False, "postgres")
    assert health.detail is not None
    assert health.detail.startswith("database unavailable")
