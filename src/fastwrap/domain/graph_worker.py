"""The graph workers: put the snippets a bulk load published into the nearest-neighbour index.

An import or a document publishes its rows at once (one transaction, all-or-nothing) and leaves
their index inserts, most of a bulk load's cost, to these workers (ports.bulk.GraphBacklog).
Until a row is indexed every search still finds it, by an exact comparison; indexing changes
what a search costs, never what it finds. The waiting rows are marked in the store itself, so
nothing is lost with a killed process: the next worker, here or in another replica, takes them.
Several workers run at once because one index insert uses one database backend: two of them
on two cores index nearly twice as fast (docs/benchmarks.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from contextlib import AbstractAsyncContextManager
from typing import Any

from fastwrap.domain.background import in_background, keep_stepping
from fastwrap.domain.jobs import Doorbell
from fastwrap.ports.bulk import GraphBacklog

log = logging.getLogger("fastwrap.vectors")

# Rows a worker indexes in one step (tenths of a second at 1536 dimensions): a regular upsert of
# one of them waits for the step at most, and a killed worker's step is simply undone.
BATCH = 100


class GraphWorker:
    def __init__(
        self,
        backlog: GraphBacklog,
        *,
        workers: int = 2,
        poll_seconds: float = 1.0,
        doorbell: Doorbell | None = None,
        batch: int = BATCH,
        background: bool = True,
    ) -> None:
        """`workers` connections index at once, in the background (`running`) and in `drain`;
        with `background` false, `running` starts none (this process leaves the backlog to
        others) and only `drain` indexes."""
        if workers < 1 or batch < 1:
            raise ValueError("workers and batch must be positive")
        self._background = background
        self._backlog = backlog
        self._workers = workers
        self._poll = poll_seconds
        self.doorbell = doorbell or Doorbell()
        self._batch = batch

    async def pending(self) -> int:
        return await self._backlog.pending()

    async def drain(self, progress: Callable[[int], None] | None = None) -> int:
        """Index everything waiting now (and whatever arrives meanwhile), on `workers`
        connections at once; `progress(n)` after each step of n rows. Returns how many."""
        done = 0

        async def one() -> None:
            nonlocal done
            while indexed := await self._step():
                done += indexed
                if progress is not None:
                    progress(indexed)

        await self._on_each_connection(one)
        return done

    async def _step(self) -> int:
        return await self._backlog.index_some(self._batch)

    async def _run_one(self) -> None:
        await keep_stepping(
            self._step, full=self._batch, wait=self.doorbell.wait, poll_seconds=self._poll,
            log=log, store="the vector index backlog", worker="graph worker",
        )  # fmt: skip

    async def _on_each_connection(self, work: Callable[[], Coroutine[Any, Any, None]]) -> None:
        async with asyncio.TaskGroup() as group:
            for _ in range(self._workers):
                group.create_task(work())

    async def run(self) -> None:
        """Index until cancelled; a failing store is retried at the poll interval. A worker
        whose step was not full waits for the doorbell (rung when a bulk load is published)."""
        await self._on_each_connection(self._run_one)

    def running(self) -> AbstractAsyncContextManager[None]:
        """Index in the background for the duration (the app's lifespan)."""
        if not self._background:
            return contextlib.nullcontext()
        return in_background(self.run, "graph-worker")
