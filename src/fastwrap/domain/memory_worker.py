"""The memory worker: embeds the memory outbox off the response path, and expires old items.

The outbox is the `memory_items` table itself (rows not embedded yet), so the worker holds
nothing that a killed process could lose: it leases a batch, embeds it in one call and stores
the vectors; a worker that dies leaves its lease to run out and the rows are taken again. An
embedder that fails leaves the batch to the next try (each row is given up on after
ports.memory.MAX_ATTEMPTS tries; it stays listed, never recalled). Every process runs one
worker; the leases keep two of them from embedding the same rows.
"""

from __future__ import annotations

import logging
from contextlib import AbstractAsyncContextManager
from datetime import datetime, timedelta

from fastwrap.domain.background import in_background, keep_stepping
from fastwrap.domain.errors import DomainError
from fastwrap.domain.jobs import Doorbell
from fastwrap.ports.clock import Clock
from fastwrap.ports.embeddings import Embedder
from fastwrap.ports.memory import MemoryStore

log = logging.getLogger("fastwrap.memory")

BATCH = 64
EXPIRE_EVERY = timedelta(hours=1)


class MemoryWorker:
    def __init__(
        self,
        store: MemoryStore,
        embedder: Embedder,
        clock: Clock,
        *,
        retention_days: int,
        lease_seconds: float = 60.0,
        poll_seconds: float = 1.0,
        doorbell: Doorbell | None = None,
        batch: int = BATCH,
    ) -> None:
        self._store = store
        self._embedder = embedder
        self._clock = clock
        self._retention = timedelta(days=retention_days)
        self._lease = timedelta(seconds=lease_seconds)
        self._poll = poll_seconds
        self.doorbell = doorbell or Doorbell()
        self._batch = batch
        self._expired_at: datetime | None = None

    async def run_once(self) -> int:
        """Embed one batch of the outbox; how many items were embedded (0: none was waiting,
        or the embedder failed and the batch waits for the next try)."""
        now = self._clock.now()
        items = await self._store.claim(now, now + self._lease, self._batch)
        if not items:
            return 0
        try:
            vectors = await self._embedder.embed([item.content for item in items])
        except DomainError as exc:
            log.warning("memory items not embedded yet (tried again later): %s", exc.detail)
            await self._store.release([item.id for item in items])
            return 0
        pairs = [(item.id, vector) for item, vector in zip(items, vectors, strict=True)]
        await self._store.embedded(pairs, self._embedder.model)
        return len(items)

    async def expire(self) -> int:
        """Delete the items older than MEMORY_RETENTION_DAYS (0: items never expire)."""
        now = self._clock.now()
        self._expired_at = now
        return await self._store.expire(now - self._retention)

    def _expiry_due(self) -> bool:
        if self._retention <= timedelta(0):
            return False
        return self._expired_at is None or self._clock.now() - self._expired_at >= EXPIRE_EVERY

    async def _step(self) -> int:
        if self._expiry_due():
            await self.expire()
        return await self.run_once()

    async def run(self) -> None:
        """Drain the outbox until cancelled; a failing store is retried at the poll interval.
        After a batch that was not full, the worker waits for the doorbell (rung by every item
        written meanwhile)."""
        await keep_stepping(
            self._step, full=self._batch, wait=self.doorbell.wait, poll_seconds=self._poll,
            log=log, store="memory outbox", worker="memory worker",
        )  # fmt: skip

    def running(self) -> AbstractAsyncContextManager[None]:
        """Drain the outbox in the background for the duration (the app's lifespan)."""
        return in_background(self.run, "memory-worker")
