"""The embedded PostgreSQL default: data survives a restart, and one process owns a data dir."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

import pytest

from fastwrap.adapters.bundles import Storage
from fastwrap.adapters.postgres.embedded import embedded_postgres
from fastwrap.adapters.postgres.storage import open_postgres_storage
from fastwrap.domain.errors import ConfigurationError, Unavailable
from fastwrap.domain.model import Client, EmbeddedSnippet, SearchQuery
from tests.support.services import service_missing

pytestmark = pytest.mark.integration

NOW = datetime(2026, 1, 1, tzinfo=UTC)
DIM = 8
HOLD_THE_LOCK = """
import sys, time
from pathlib import Path
from fastwrap.adapters.postgres.embedded import data_dir_lock
with data_dir_lock(Path(sys.argv[1])):
    print("locked", flush=True)
    sys.stdin.read()
"""


@asynccontextmanager
async def embedded_storage(data_dir: Path) -> AsyncIterator[Storage]:
    async with AsyncExitStack() as stack:
        try:
            dsn = await stack.enter_async_context(embedded_postgres(data_dir))
        except Unavailable as exc:
            service_missing(f"embedded PostgreSQL: {exc.detail}")
        yield await stack.enter_async_context(
            open_postgres_storage(
                dsn, adapter="embedded", pool_min=1, pool_max=2, embedding_dim=DIM
            )
        )


async def test_data_survives_a_stop_and_a_start_on_the_same_data_dir(
    embedded_tmp_path: Path,
) -> None:
    data_dir = embedded_tmp_path / "data"
    client = Client(
        id=uuid4(), email="ada@example.com", password_hash="h", key_digest="d" * 64,
        created_at=NOW, updated_at=NOW,
    )  # fmt: skip
    snippet = EmbeddedSnippet(
        client_id=client.id, entity_type="doc", entity_id="1", content="kept",
        metadata={"k": "v"}, embedding=(1.0,) * DIM, model="m",
    )  # fmt: skip
    async with embedded_storage(data_dir) as storage:
        assert storage.adapter == "embedded"
        await storage.clients.add(client)
        await storage.vectors.upsert([snippet], NOW)

    assert not (data_dir / "pg" / "postmaster.pid").exists(), "the server was not stopped"

    async with embedded_storage(data_dir) as storage:
        assert await storage.clients.get_by_key_digest("d" * 64) == client
        query = SearchQuery(client_id=client.id, embedding=(1.0,) * DIM, model="m", top_k=5)
        [hit] = await storage.vectors.search(query)
        assert (hit.snippet.content, hit.snippet.metadata) == ("kept", {"k": "v"})


async def test_a_second_process_on_the_data_dir_gets_a_clear_error(embedded_tmp_path: Path) -> None:
    data_dir = embedded_tmp_path / "data"
    data_dir.mkdir()
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_THE_LOCK, str(data_dir)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "locked"

        with pytest.raises(ConfigurationError) as caught:
            async with embedded_postgres(data_dir):
                pass
    finally:
        holder.communicate(input="", timeout=30)

    assert caught.value.detail == (
        f"data dir {data_dir.resolve()} is in use by another fastwrap process "
        f"(pid {holder.pid}); stop it or set FASTWRAP_DATA_DIR"
    )
    assert not (data_dir / "pg").exists(), "no server may start on a data dir in use"


async def test_the_same_process_cannot_open_a_data_dir_twice(embedded_tmp_path: Path) -> None:
    async with embedded_storage(embedded_tmp_path) as storage:
        with pytest.raises(ConfigurationError, match="in use by another fastwrap process"):
            async with embedded_postgres(embedded_tmp_path):
                pass
        assert (await storage.health.check()).ok
