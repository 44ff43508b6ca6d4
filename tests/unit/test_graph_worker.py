"""The graph workers over the in-memory store: an import rings them, they index what waits, and a
store that fails does not stop them (PostgreSQL's side: tests/integration/test_graph_backlog.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from uuid import UUID

import pytest

from fastwrap.adapters.bundles import Storage
from fastwrap.adapters.clock import SystemClock
from fastwrap.adapters.langchain.hashing import HashingEmbedder
from fastwrap.adapters.memory.repositories import memory_storage
from fastwrap.domain.errors import Unavailable
from fastwrap.domain.graph_worker import GraphWorker
from fastwrap.domain.imports import ImportService
from fastwrap.domain.jobs import Doorbell
from fastwrap.ports.bulk import GraphBacklog
from tests.contract import seeds
from tests.contract.test_vector_index import T0


class FailingOnce(GraphBacklog):
    """The store's backlog, down for its first call (a database that is restarting)."""

    def __init__(self, backlog: GraphBacklog) -> None:
        self._backlog = backlog
        self.calls = 0

    async def pending(self) -> int:
        return await self._backlog.pending()

    async def index_some(self, limit: int) -> int:
        self.calls += 1
        if self.calls == 1:
            raise Unavailable("the database is unavailable")
        return await self._backlog.index_some(limit)


def lines(count: int) -> list[bytes]:
    return [
        f'{{"entity_type": "doc", "entity_id": "{n}", "content": "row {n}"}}\n'.encode()
        for n in range(count)
    ]


async def as_stream(items: list[bytes]) -> AsyncIterator[bytes]:
    for item in items:
        yield item


async def importing(
    doorbell: Doorbell | None = None,
) -> tuple[Storage, UUID, ImportService]:
    """An in-memory store with a tenant, and the import service that rings `doorbell`."""
    storage = memory_storage()
    owner = await seeds.add_client(storage, T0)
    imports = ImportService(
        loader=storage.snippet_loader, embedder=HashingEmbedder(8), clock=SystemClock(),
        graph_doorbell=doorbell,
    )  # fmt: skip
    return storage, owner, imports


async def until_indexed(worker: GraphWorker) -> None:
    async with asyncio.timeout(10):  # a bound against a hang, not a measurement
        while await worker.pending():
            await asyncio.sleep(0.01)


async def test_an_import_rings_the_workers_and_they_index_it_all() -> None:
    doorbell = Doorbell()
    storage, owner, imports = await importing(doorbell)
    # A poll far longer than the test: only the doorbell can wake the workers in time.
    worker = GraphWorker(storage.graph_backlog, poll_seconds=3600, doorbell=doorbell, batch=7)
    async with worker.running():
        await asyncio.sleep(0)  # the workers have looked once and wait
        result = await imports.run(owner, as_stream(lines(50)))
        assert result.imported == 50
        await until_indexed(worker)


async def test_drain_reports_each_step_and_a_failing_store_is_tried_again() -> None:
    storage, owner, imports = await importing()
    await imports.run(owner, as_stream(lines(20)))
    steps: list[int] = []
    assert await GraphWorker(storage.graph_backlog, batch=8).drain(steps.append) == 20
    assert sorted(steps) == [4, 8, 8]

    await imports.run(owner, as_stream(lines(5)))  # published again: waiting again
    failing = FailingOnce(storage.graph_backlog)
    worker = GraphWorker(failing, workers=1, poll_seconds=0.01)
    async with worker.running():
        await until_indexed(worker)
    assert failing.calls >= 2


async def test_a_worker_not_in_the_background_indexes_only_when_drained() -> None:
    doorbell = Doorbell()
    storage, owner, imports = await importing(doorbell)
    worker = GraphWorker(storage.graph_backlog, doorbell=doorbell, background=False)
    async with worker.running():
        await imports.run(owner, as_stream(lines(5)))
        for _ in range(20):  # a background worker would have taken them by now
            await asyncio.sleep(0)
        assert await worker.pending() == 5
    assert await worker.drain() == 5


def test_workers_and_batches_are_positive() -> None:
    storage = memory_storage()
    with pytest.raises(ValueError, match="positive"):
        GraphWorker(storage.graph_backlog, workers=0)
