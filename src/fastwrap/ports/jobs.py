"""A durable queue of background jobs, claimed by workers under a lease."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol
from uuid import UUID

from fastwrap.domain.knowledge import ClaimedJob, Job, NewJob
from fastwrap.domain.model import JsonObject


class JobQueue(Protocol):
    """Jobs survive a restart. A worker claims one with a lease it renews while it works; a
    job whose lease ran out (its worker died) can be claimed again, its attempts counted."""

    async def enqueue(self, job: NewJob, at: datetime) -> Job:
        """Store a queued job."""

    async def get(self, client_id: UUID, job_id: UUID) -> Job | None:
        """The tenant's job, or None (another tenant's is None too)."""

    async def claim(self, worker: str, now: datetime, lease_until: datetime) -> ClaimedJob | None:
        """The oldest queued job, or running one whose lease ran out, of a live tenant, now
        held by `worker` (status running, attempts + 1); None when there is none. Two workers
        never hold one job at once."""

    async def report(
        self, job_id: UUID, worker: str, done: int, total: int, now: datetime, lease_until: datetime
    ) -> bool:
        """Progress and a renewed lease; False if `worker` no longer holds the job."""

    async def finish(
        self,
        job_id: UUID,
        worker: str,
        now: datetime,
        *,
        result: JsonObject | None = None,
        error: str | None = None,
    ) -> bool:
        """Succeeded (no error) or failed, and the uploaded data dropped; False if `worker` no
        longer holds the job."""
