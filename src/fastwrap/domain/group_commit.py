"""Group commit: concurrent callers' records share one write.

A caller's record is durable when `record` returns, but callers do not each pay a write:
records that arrive while a write is under way wait for the next one, which takes all of them
(up to `max_batch`) in one call of `write`. With one caller at a time that is one round trip
per record; under load, one per batch, so the cost per record falls as the load rises. No
timer: a record never waits for company, only for the write ahead of it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

MAX_BATCH = 500


class GroupCommit[T]:
    def __init__(
        self,
        write: Callable[[Sequence[T]], Awaitable[None]],
        *,
        what: str,
        log: logging.Logger,
        max_batch: int = MAX_BATCH,
    ) -> None:
        """`write` stores a batch in one go (all or nothing); `what` names the records in the
        warnings `log` gets."""
        self._write_batch = write
        self._what = what
        self._log = log
        self._max_batch = max_batch
        self._pending: list[tuple[T, asyncio.Future[None] | None]] = []
        self._writer: asyncio.Task[None] | None = None

    async def record(self, record: T) -> None:
        """Return once `record` is durable; raise what `write` raised if it could not be."""
        # A caller that goes away cancels only its wait: the record stays in its batch.
        await self.queue(record)

    def queue(self, record: T) -> asyncio.Future[None]:
        """Write `record` with the next batch; the future is done once it is durable (or
        carries what `write` raised)."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._enqueue(record, done)
        return done

    def submit(self, record: T) -> None:
        """Write `record` with the next batch without waiting (a call nobody will see answered,
        e.g. one cancelled mid-stream); a failure is logged."""
        self._enqueue(record, None)

    def _enqueue(self, record: T, done: asyncio.Future[None] | None) -> None:
        self._pending.append((record, done))
        if self._writer is None:
            self._writer = asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        try:
            while self._pending:
                batch = self._pending[: self._max_batch]
                del self._pending[: self._max_batch]
                await self._write(batch)
        finally:
            self._writer = None

    async def _write(self, batch: Sequence[tuple[T, asyncio.Future[None] | None]]) -> None:
        try:
            await self._write_batch([record for record, _ in batch])
        except Exception as exc:
            if any(done is None for _, done in batch):
                self._log.warning("%s not stored: %s", self._what, exc)
            for _, done in batch:
                if done is not None and not done.done():
                    done.set_exception(exc)
            return
        for _, done in batch:
            if done is not None and not done.done():
                done.set_result(None)

    async def aclose(self) -> None:
        """Wait for the records still pending (at shutdown)."""
        while self._writer is not None:
            await asyncio.shield(self._writer)
