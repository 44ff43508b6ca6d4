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
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from fastwrap.domain.background import in_background
from fastwrap.domain.errors import DomainError
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
            while indexed := await self._backlog.index_some(self._batch):
                done += indexed
                if progress is not None:
                    progress(indexed)

        async with asyncio.TaskGroup() as group:
            for _ in range(self._workers):
                group.create_task(one())
        return done

    async def _run_one(self) -> None:
        while True:
            indexed = 0
            try:
                indexed = await self._backlog.index_some(self._batch)
            except DomainError as exc:
                log.warning("snippets not indexed yet (tried again later): %s", exc.detail)
            except Exception:  # a bug must not stop indexing for the life of the process
                log.exception("graph worker failed; trying again")
            if indexed < self._batch:
                await self.doorbell.wait(self._poll)

    async def run(self) -> None:
        """Index until cancelled; a failing store is retried at the poll interval. A worker
        whose step was not full waits for the doorbell (rung when a bulk load is published)."""
        async with asyncio.TaskGroup() as group:
            for _ in range(self._workers):
                group.create_task(self._run_one())

    def running(self) -> AbstractAsyncContextManager[None]:
        """Index in the background for the duration (the app's lifespan)."""
        if not self._background:
            return contextlib.nullcontext()
        return in_background(self.run, "graph-worker")
