"""The embedded server runs with memory settings sized from the machine, set once."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest

from fastwrap.adapters.postgres.embedded import (
    MIB,
    SHOW_MEMORY,
    embedded_postgres,
    machine_memory,
    memory_settings,
)
from fastwrap.domain.errors import Unavailable
from tests.support.services import service_missing

pytestmark = pytest.mark.integration


async def running_settings(data_dir: Path) -> dict[str, int]:
    """The embedded server's memory settings, in MB."""
    try:
        async with embedded_postgres(data_dir) as dsn:
            conn = await asyncpg.connect(dsn)
            try:
                row = await conn.fetchrow(SHOW_MEMORY)
            finally:
                await conn.close()
    except Unavailable as exc:
        service_missing(f"embedded PostgreSQL: {exc.detail}")
    assert row is not None
    return {name: row[name] // MIB for name in row.keys()}


async def test_the_embedded_server_is_sized_from_the_machines_memory(tmp_path: Path) -> None:
    first = await running_settings(tmp_path)
    assert first == memory_settings(machine_memory())

    second = await running_settings(tmp_path)  # already set: kept across restarts
    assert second == first
