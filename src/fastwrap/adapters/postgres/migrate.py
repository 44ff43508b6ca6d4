"""Numbered SQL migrations, applied in order under an advisory lock, each in its own transaction.

Files are `migrations/NNNN_name.sql`. Applied versions are recorded in `app_schema`, so a second
run is a no-op, and replicas that start together queue on the lock instead of racing. The vector
column needs its dimension in the DDL (`vector(N)` takes no bind parameter), so the runner puts
the validated EMBEDDING_DIM integer where a file says {{EMBEDDING_DIM}}; nothing else is
substituted.

Two markers, on lines of their own at the top of a file, change how it runs:
- `-- fastwrap:no-transaction`: its statements (separated by `;` at the end of a line) run one
  by one outside a transaction, as `CREATE INDEX CONCURRENTLY` requires; such a file must be
  safe to run again from the start, since a crash may stop it half way.
- `-- fastwrap:max-dim N`: with EMBEDDING_DIM above N, the file is recorded as applied and
  nothing of it runs (for an index type that cannot take that many dimensions).
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from importlib import resources

import asyncpg

from fastwrap.adapters.postgres.errors import misconfigured, translated
from fastwrap.domain.errors import ConfigurationError
from fastwrap.ports.schema import AppliedMigration, MigrationStatus, SchemaAdmin, SchemaVersion

DIM_TOKEN = "{{EMBEDDING_DIM}}"
MAX_DIM = 16_000  # pgvector's limit for `vector`
# Any fixed bigint works; it only has to be the same in every FastWrap process.
MIGRATION_LOCK = 4_242_001_003
_FILE_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
NO_TRANSACTION = re.compile(r"^-- fastwrap:no-transaction$", re.MULTILINE)
MAX_DIM_MARKER = re.compile(r"^-- fastwrap:max-dim (\d+)$", re.MULTILINE)
STATEMENT_END = re.compile(r";[ \t]*$", re.MULTILINE)
# Waiting replicas poll for the lock instead of blocking on it: a blocked statement holds a
# snapshot, and CREATE INDEX CONCURRENTLY waits for every snapshot older than its own, so a
# replica blocked on the lock would stall the migration that holds it.
LOCK_POLL_SECONDS = 0.2
TRY_LOCK = "SELECT pg_try_advisory_lock($1)"

CREATE_APP_SCHEMA = """
CREATE TABLE IF NOT EXISTS app_schema (
    version    integer     NOT NULL,
    name       text        NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz,
    CONSTRAINT app_schema_pkey PRIMARY KEY (version)
)
"""
SELECT_APPLIED = """
SELECT version, name, applied_at FROM app_schema WHERE deleted_at IS NULL ORDER BY version
"""
RECORD_APPLIED = "INSERT INTO app_schema (version, name) VALUES ($1, $2)"
APP_SCHEMA_EXISTS = "SELECT to_regclass('app_schema') IS NOT NULL"
DELETE_EMBEDDINGS = "DELETE FROM embeddings"
DELETE_DOCUMENTS = "DELETE FROM documents"  # their chunks are gone: upload them again
DROP_VECTOR_INDEX = "DROP INDEX IF EXISTS embeddings_embedding_hnsw"
RETYPE_EMBEDDINGS = f"ALTER TABLE embeddings ALTER COLUMN embedding TYPE vector({DIM_TOKEN})"
DROP_HALF_INDEX = "DROP INDEX IF EXISTS embeddings_embedding_hnsw_half"
# Memory items keep their text: only their vectors go, and the memory worker embeds them again.
UNEMBED_MEMORY = (
    "UPDATE memory_items SET embedding = NULL, model = NULL, attempts = 0, lease_until = NULL"
)
RETYPE_MEMORY = (
    "ALTER TABLE memory_items DROP COLUMN embedding_bits",
    f"ALTER TABLE memory_items ALTER COLUMN embedding TYPE vector({DIM_TOKEN})",
    f"ALTER TABLE memory_items ADD COLUMN embedding_bits bit({DIM_TOKEN}) GENERATED ALWAYS AS"
    f" (binary_quantize(embedding)::bit({DIM_TOKEN})) STORED",
)
# The migrations that build the HNSW index: 0009 creates it, 0016 rebuilds it with the graph
# options below, 0018 builds it again without the rows waiting for their insert (the
# integration tests check the built index carries the options; the benchmarks build theirs with
# them and the same predicate).
VECTOR_INDEX_VERSIONS = (9, 16, 18)
HNSW_OPTIONS = {"m": 8, "ef_construction": 128}
STORED_DIM = """
SELECT a.atttypmod
FROM pg_attribute AS a
WHERE a.attrelid = to_regclass('embeddings') AND a.attname = 'embedding' AND NOT a.attisdropped
"""


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str

    def render(self, embedding_dim: int) -> str:
        return self.sql.replace(DIM_TOKEN, str(check_dim(embedding_dim)))

    @property
    def transactional(self) -> bool:
        return NO_TRANSACTION.search(self.sql) is None

    def applies_to(self, embedding_dim: int) -> bool:
        limit = MAX_DIM_MARKER.search(self.sql)
        return limit is None or embedding_dim <= int(limit[1])

    def statements(self, embedding_dim: int) -> list[str]:
        """The rendered file split into its statements (for a no-transaction file)."""
        parts = STATEMENT_END.split(self.render(embedding_dim))
        return [sql for sql in map(_without_comment_lines, parts) if sql]


def _without_comment_lines(text: str) -> str:
    lines = [line for line in text.splitlines() if not line.strip().startswith("--")]
    return "\n".join(lines).strip()


def check_dim(embedding_dim: int) -> int:
    # bool is an int too; a dimension is never True.
    if type(embedding_dim) is not int or not 1 <= embedding_dim <= MAX_DIM:
        raise ConfigurationError(f"EMBEDDING_DIM must be an integer from 1 to {MAX_DIM}")
    return embedding_dim


def load_migrations() -> list[Migration]:
    """Every migration file shipped with FastWrap, in version order."""
    folder = resources.files("fastwrap.adapters.postgres") / "migrations"
    found = []
    for entry in folder.iterdir():
        match = _FILE_NAME.fullmatch(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    if len({m.version for m in found}) != len(found):
        raise RuntimeError("two migration files share a version number")
    return found


async def _applied(conn: asyncpg.Connection) -> list[AppliedMigration]:
    if not await conn.fetchval(APP_SCHEMA_EXISTS):
        return []
    rows = await conn.fetch(SELECT_APPLIED)
    return [AppliedMigration(r["version"], r["name"], r["applied_at"]) for r in rows]


async def lock_migrations(conn: asyncpg.Connection) -> None:
    """Take the migration lock, polling (see LOCK_POLL_SECONDS) until it is free."""
    while True:
        if await conn.fetchval(TRY_LOCK, MIGRATION_LOCK):
            return
        await asyncio.sleep(LOCK_POLL_SECONDS)


async def run_migration(conn: asyncpg.Connection, migration: Migration, embedding_dim: int) -> None:
    """Run one migration's SQL, in a transaction unless the file says otherwise."""
    try:
        if not migration.applies_to(embedding_dim):
            return
        if migration.transactional:
            async with conn.transaction():
                await conn.execute(migration.render(embedding_dim))
            return
        for statement in migration.statements(embedding_dim):
            await conn.execute(statement)
    except asyncpg.PostgresError as exc:
        raise (misconfigured(exc) or exc) from exc


async def apply_migrations(conn: asyncpg.Connection, embedding_dim: int) -> list[str]:
    """Apply the pending migrations; returns the names applied (empty when up to date)."""
    check_dim(embedding_dim)
    names: list[str] = []
    with translated():
        await lock_migrations(conn)
        try:
            await conn.execute(CREATE_APP_SCHEMA)
            done = {m.version for m in await _applied(conn)}
            for migration in load_migrations():
                if migration.version in done:
                    continue
                if migration.transactional:
                    # The SQL and its record commit together.
                    async with conn.transaction():
                        await run_migration(conn, migration, embedding_dim)
                        await conn.execute(RECORD_APPLIED, migration.version, migration.name)
                else:
                    await run_migration(conn, migration, embedding_dim)
                    await conn.execute(RECORD_APPLIED, migration.version, migration.name)
                names.append(f"{migration.version:04d}_{migration.name}")
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK)
    return names


async def check_embedding_dim(conn: asyncpg.Connection, embedding_dim: int) -> None:
    """Refuse to run against vectors of another dimension: every upsert and search would fail."""
    with translated():
        stored = await conn.fetchval(STORED_DIM)
    if stored is None or stored < 1 or stored == embedding_dim:
        return
    raise ConfigurationError(
        f"EMBEDDING_DIM={embedding_dim} does not match the database, whose embeddings have "
        f"{stored} dimensions: set EMBEDDING_DIM={stored}, or re-embed: reset the stored "
        f"snippets with `fastwrap db reset-embeddings` (this deletes them) and import them "
        f"again with `fastwrap vectors import`"
    )


async def connect(dsn: str) -> asyncpg.Connection:
    """A connection for administration; a wrong user, password or database is a
    ConfigurationError naming DATABASE_URL, an unreachable server is Unavailable."""
    try:
        with translated():
            return await asyncpg.connect(dsn, timeout=10)
    except asyncpg.PostgresError as exc:
        raise (misconfigured(exc) or exc) from exc


async def migrate(dsn: str, embedding_dim: int) -> list[str]:
    """`fastwrap db migrate`: apply pending migrations, then check the vector dimension."""
    conn = await connect(dsn)
    try:
        applied = await apply_migrations(conn, embedding_dim)
        await check_embedding_dim(conn, embedding_dim)
        return applied
    finally:
        await conn.close()


async def status(dsn: str) -> MigrationStatus:
    """`fastwrap db status`: applied migrations (with dates) and pending ones."""
    conn = await connect(dsn)
    try:
        with translated():
            applied = await _applied(conn)
    finally:
        await conn.close()
    done = {m.version for m in applied}
    pending = tuple(
        SchemaVersion(m.version, m.name) for m in load_migrations() if m.version not in done
    )
    return MigrationStatus(applied=tuple(applied), pending=pending)


async def reset_embeddings(dsn: str, embedding_dim: int) -> int:
    """The re-embed path after an EMBEDDING_DIM change: delete every stored snippet (the vectors
    are useless at another dimension), retype the column to the new dimension and rebuild the
    index, in one transaction. Returns how many snippets were deleted; import them again after.
    Memory items keep their text and are embedded again by the memory worker.
    """
    indexes = [m for m in load_migrations() if m.version in VECTOR_INDEX_VERSIONS]
    conn = await connect(dsn)
    try:
        await apply_migrations(conn, embedding_dim)
        with translated():
            await lock_migrations(conn)
            try:
                async with conn.transaction():
                    await conn.execute(DROP_VECTOR_INDEX)
                    await conn.execute(DROP_HALF_INDEX)
                    deleted = await conn.execute(DELETE_EMBEDDINGS)
                    await conn.execute(DELETE_DOCUMENTS)
                    await conn.execute(RETYPE_EMBEDDINGS.replace(DIM_TOKEN, str(embedding_dim)))
                    await conn.execute(UNEMBED_MEMORY)
                    for statement in RETYPE_MEMORY:
                        await conn.execute(statement.replace(DIM_TOKEN, str(embedding_dim)))
                # The index is built on the now empty table: concurrently or not, it is quick.
                for index in indexes:
                    await run_migration(conn, index, embedding_dim)
            finally:
                await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK)
        return int(deleted.split()[-1])
    finally:
        await conn.close()


class PgSchemaAdmin(SchemaAdmin):
    """The schema of one PostgreSQL database, each call on a connection of its own."""

    def __init__(self, dsn: str, embedding_dim: int) -> None:
        self._dsn = dsn
        self._dim = embedding_dim

    async def migrate(self) -> list[str]:
        return await migrate(self._dsn, self._dim)

    async def status(self) -> MigrationStatus:
        return await status(self._dsn)

    async def reset_embeddings(self) -> int:
        return await reset_embeddings(self._dsn, self._dim)
