"""An in-memory job queue with the PostgreSQL queue's semantics (leases, attempts), for tests
and FASTWRAP_STORAGE=memory, where nothing outlives the process anyway."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from uuid import UUID

from fastwrap.adapters.memory.clients import MemoryState, as_jsonb
from fastwrap.domain.knowledge import ClaimedJob, Job, JobStatus, NewJob
from fastwrap.domain.model import JsonObject
from fastwrap.ports.jobs import JobQueue


@dataclass(slots=True)
class _Entry:
    job: Job
    payload: JsonObject
    data: bytes
    owner: str | None = None
    lease_until: datetime | None = None


class InMemoryJobQueue(JobQueue):
    def __init__(self, state: MemoryState) -> None:
        self._state = state
        self._entries: dict[UUID, _Entry] = {}

    async def enqueue(self, job: NewJob, at: datetime) -> Job:
        self._state.require_client(job.client_id)
        queued = Job(
            id=job.id, client_id=job.client_id, kind=job.kind, status="queued", done=0,
            total=0, error=None, result=None, attempts=0, created_at=at, updated_at=at,
            finished_at=None,
        )  # fmt: skip
        self._entries[job.id] = _Entry(queued, as_jsonb(dict(job.payload)), job.data)
        return queued

    async def get(self, client_id: UUID, job_id: UUID) -> Job | None:
        entry = self._entries.get(job_id)
        return entry.job if entry is not None and entry.job.client_id == client_id else None

    def _claimable(self, entry: _Entry, now: datetime) -> bool:
        client = self._state.clients.get(entry.job.client_id)
        if client is None or client.deleted_at is not None:
            return False
        if entry.job.status == "queued":
            return True
        expired = entry.lease_until is not None and entry.lease_until < now
        return entry.job.status == "running" and expired

    async def claim(self, worker: str, now: datetime, lease_until: datetime) -> ClaimedJob | None:
        ready = [e for e in self._entries.values() if self._claimable(e, now)]
        if not ready:
            return None
        entry = min(ready, key=lambda e: (e.job.created_at, e.job.id))
        entry.job = replace(
            entry.job, status="running", attempts=entry.job.attempts + 1, updated_at=now
        )
        entry.owner, entry.lease_until = worker, lease_until
        return ClaimedJob(job=entry.job, payload=entry.payload, data=entry.data)

    def _held(self, job_id: UUID, worker: str) -> _Entry | None:
        entry = self._entries.get(job_id)
        if entry is None or entry.owner != worker or entry.job.status != "running":
            return None
        return entry

    async def report(
        self, job_id: UUID, worker: str, done: int, total: int, now: datetime, lease_until: datetime
    ) -> bool:
        entry = self._held(job_id, worker)
        if entry is None:
            return False
        entry.job = replace(entry.job, done=done, total=total, updated_at=now)
        entry.lease_until = lease_until
        return True

    async def finish(
        self,
        job_id: UUID,
        worker: str,
        now: datetime,
        *,
        result: JsonObject | None = None,
        error: str | None = None,
    ) -> bool:
        entry = self._held(job_id, worker)
        if entry is None:
            return False
        status: JobStatus = "failed" if error is not None else "succeeded"
        stored = as_jsonb(dict(result)) if result is not None else None
        entry.job = replace(
            entry.job, status=status, error=error, result=stored, updated_at=now, finished_at=now
        )
        entry.owner, entry.lease_until, entry.data = None, None, b""
        return True
