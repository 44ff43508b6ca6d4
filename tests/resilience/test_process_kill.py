"""FastWrap is SIGKILLed under a write load: after a restart every acknowledged write is there."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from tests.resilience.fastwrap_process import FastWrapProcess
from tests.resilience.workload import WriteLoad, missing_writes
from tests.support.postgres import DEFAULT_DIM

pytestmark = pytest.mark.integration


def server_env(dsn: str, workdir: Path) -> dict[str, str]:
    return {
        "DATABASE_URL": dsn,
        "FASTWRAP_STORAGE": "postgres",
        "FASTWRAP_DATA_DIR": str(workdir / "data"),
        "EMBEDDING_DIM": str(DEFAULT_DIM),
        "BCRYPT_ROUNDS": "4",
        "RATE_LIMIT_ENABLED": "false",
        "LOG_DIR": str(workdir / "logs"),
        "LOG_LEVEL": "WARNING",
    }


async def test_a_sigkilled_server_loses_no_acknowledged_write(pg_dsn: str, tmp_path: Path) -> None:
    server = FastWrapProcess(tmp_path, server_env(pg_dsn, tmp_path))
    try:
        await asyncio.to_thread(server.start)
        async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as api:
            load = WriteLoad(api, label="sigkill")
            load.start()
            try:
                await load.until(acknowledged=60)
                await asyncio.to_thread(server.kill)  # writers are mid-request
            finally:
                await load.stop()
        assert 500 not in load.statuses, load.failures
        print(  # the figures the closing note of the issue reports (pytest -s)
            f"\nSIGKILL: {load.acked.count} writes acknowledged; statuses "
            f"{dict(load.statuses)}; cut off {dict(load.failures)}"
        )

        await asyncio.to_thread(server.start)
        async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as api:
            assert await missing_writes(api, load.acked) == []
    finally:
        await asyncio.to_thread(server.stop)
