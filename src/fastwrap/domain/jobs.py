"""Background jobs: reading one's status, and the worker that drains the durable queue.

The queue (a table in PostgreSQL) is the record: the worker is only what drains it, so a
killed process loses nothing. While a handler runs, the worker renews the job's lease every
third of it; when a worker dies, its job's lease runs out and the next worker that looks
claims it again and runs it from the start. A job that failed that way MAX_ATTEMPTS times is
marked failed instead of being tried for ever.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager
from datetime import timedelta
from typing import Protocol
from uuid import UUID

from fastwrap.domain.background import in_background
from fastwrap.domain.errors import DomainError, NotFound
from fastwrap.domain.knowledge import ClaimedJob, Job
from fastwrap.domain.model import JsonObject
from fastwrap.ports.clock import Clock
from fastwrap.ports.jobs import JobQueue

log = logging.getLogger("fastwrap.jobs")

MAX_ATTEMPTS = 3
type Progress = Callable[[int, int], Awaitable[None]]


class JobHandler(Protocol):
    async def __call__(self, job: ClaimedJob, progress: Progress) -> JsonObject:
        """Do the job; report (done, total) as it goes; return its result."""
        ...


class LeaseLost(Exception):
    """Another worker holds the job now (this one was presumed dead): stop working on it."""


class Doorbell:
    """Rung when a job is queued, so this process's worker looks at once instead of at its
    next poll (workers of other processes find it at theirs)."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def ring(self) -> None:
        self._event.set()

    async def wait(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._event.wait(), seconds)
        self._event.clear()


class JobService:
    def __init__(self, queue: JobQueue) -> None:
        self._queue = queue

    async def get(self, client_id: UUID, job_id: UUID) -> Job:
        job = await self._queue.get(client_id, job_id)
        if job is None:
            raise NotFound("job not found")
        return job


class JobWorker:
    def __init__(
        self,
        queue: JobQueue,
        handlers: Mapping[str, JobHandler],
        clock: Clock,
        *,
        lease_seconds: float = 30.0,
        poll_seconds: float = 1.0,
        doorbell: Doorbell | None = None,
    ) -> None:
        self._queue = queue
        self._handlers = handlers
        self._clock = clock
        self._lease = timedelta(seconds=lease_seconds)
        self._poll = poll_seconds
        self._name = f"worker-{uuid.uuid4().hex[:12]}"
        self._doorbell = doorbell or Doorbell()

    async def run_once(self) -> bool:
        """Claim one job and run it to its end; False when there was none to claim."""
        now = self._clock.now()
        claimed = await self._queue.claim(self._name, now, now + self._lease)
        if claimed is None:
            return False
        job = claimed.job
        handler = self._handlers.get(job.kind)
        if handler is None or job.attempts > MAX_ATTEMPTS:
            reason = f"unknown job kind {job.kind!r}" if handler is None else "worker died"
            await self._end(job.id, error=f"gave up: {reason} ({job.attempts - 1} attempts)")
            return True
        await self._run(claimed, handler)
        return True

    async def _run(self, claimed: ClaimedJob, handler: JobHandler) -> None:
        state = [claimed.job.done, claimed.job.total]

        async def progress(done: int, total: int) -> None:
            state[:] = [done, total]
            await self._report(claimed.job.id, done, total)

        lost = asyncio.Event()
        work = asyncio.ensure_future(handler(claimed, progress))
        beat = asyncio.ensure_future(self._heartbeat(claimed.job.id, state, work, lost))
        try:
            result = await work
        except (LeaseLost, asyncio.CancelledError) as exc:
            if isinstance(exc, asyncio.CancelledError) and not lost.is_set():
                raise  # the worker itself is being stopped
            log.warning("job %s: lease lost, another worker has it", claimed.job.id)
            return
        except DomainError as exc:
            await self._end(claimed.job.id, error=exc.detail)
            return
        except Exception:
            log.exception("job %s failed", claimed.job.id)
            await self._end(claimed.job.id, error="internal error (see the server log)")
            return
        finally:
            beat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beat
        await self._end(claimed.job.id, result=result)

    async def _report(self, job_id: UUID, done: int, total: int) -> None:
        now = self._clock.now()
        if not await self._queue.report(job_id, self._name, done, total, now, now + self._lease):
            raise LeaseLost(str(job_id))

    async def _heartbeat(
        self, job_id: UUID, state: list[int], work: asyncio.Future[JsonObject], lost: asyncio.Event
    ) -> None:
        while True:
            await asyncio.sleep(self._lease.total_seconds() / 3)
            try:
                await self._report(job_id, *state)
            except LeaseLost:
                lost.set()
                work.cancel()
                return
            except DomainError as exc:  # the database is away: the lease may still hold
                log.warning("job %s: lease not renewed: %s", job_id, exc.detail)

    async def _end(
        self, job_id: UUID, *, result: JsonObject | None = None, error: str | None = None
    ) -> None:
        await self._queue.finish(job_id, self._name, self._clock.now(), result=result, error=error)

    async def run(self) -> None:
        """Drain the queue until cancelled; a failing queue is retried at the poll interval."""
        while True:
            try:
                busy = await self.run_once()
            except DomainError as exc:
                log.warning("job queue unavailable: %s", exc.detail)
                busy = False
            if not busy:
                await self._doorbell.wait(self._poll)

    def running(self) -> AbstractAsyncContextManager[None]:
        """Drain the queue in the background for the duration (the app's lifespan)."""
        return in_background(self.run, self._name)
