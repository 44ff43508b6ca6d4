"""Fixtures of the resilience suite: a crashable PostgreSQL, a local Redis Cluster.

Every process a fixture starts is stopped in its `finally`, whatever the test did.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator

import pytest

from tests.resilience.crashable_postgres import CrashablePostgres
from tests.resilience.redis_cluster import LocalRedisCluster
from tests.support.services import service_missing


@pytest.fixture
def crashable_postgres() -> Iterator[tuple[CrashablePostgres, str]]:
    """A PostgreSQL of this test's own (durable settings) and its DSN; the test may crash it."""
    server = CrashablePostgres()
    try:
        try:
            dsn = server.start()
        except (subprocess.SubprocessError, OSError, AssertionError) as exc:
            service_missing(f"embedded PostgreSQL did not start: {exc}")
        yield server, dsn
    finally:
        server.stop()


@pytest.fixture(scope="session")
def redis_cluster() -> Iterator[LocalRedisCluster]:
    """A 3-master Redis Cluster on loopback ports, shared by the session's cluster tests."""
    server, cli = shutil.which("redis-server"), shutil.which("redis-cli")
    if server is None or cli is None:
        service_missing("redis-server and redis-cli are needed to start a Redis Cluster")
    cluster = LocalRedisCluster(server, cli)
    try:
        try:
            cluster.start()
        except (subprocess.SubprocessError, OSError, RuntimeError) as exc:
            service_missing(f"a local Redis Cluster did not start: {exc}")
        yield cluster
    finally:
        cluster.stop()
