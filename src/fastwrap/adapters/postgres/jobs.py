"""The durable job queue in PostgreSQL (migration 0008).

A claim is one statement: the oldest claimable job of a live tenant, locked with FOR UPDATE
SKIP LOCKED so concurrent workers (threads, processes, replicas) each get a different one,
then marked running under the worker's lease. Every later write names the worker and only
lands while it still holds the job, so a worker presumed dead cannot overwrite the one that
took over.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg

from fastwrap.adapters.postgres.bulk import BULK_TIMEOUT
from fastwrap.adapters.postgres.pool import connection
from fastwrap.domain.knowledge import ClaimedJob, Job, NewJob
from fastwrap.domain.model import JsonObject
from fastwrap.ports.jobs import JobQueue

COLUMNS = (
    "id, client_id, kind, status, progress_done, progress_total, error, result, attempts, "
    "created_at, updated_at, finished_at"
)
INSERT = f"""
INSERT INTO jobs (id, client_id, kind, payload, data, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $6)
RETURNING {COLUMNS}
"""
SELECT = f"SELECT {COLUMNS} FROM jobs WHERE id = $1 AND client_id = $2 AND deleted_at IS NULL"
CLAIM = f"""
UPDATE jobs SET status = 'running', attempts = attempts + 1, lease_owner = $1,
    lease_expires_at = $3, updated_at = $2
WHERE id = (
    SELECT j.id FROM jobs AS j
    WHERE j.deleted_at IS NULL
      AND (j.status = 'queued' OR (j.status = 'running' AND j.lease_expires_at < $2))
      AND EXISTS (SELECT 1 FROM clients AS c WHERE c.id = j.client_id AND c.deleted_at IS NULL)
    ORDER BY j.created_at, j.id
    LIMIT 1
    FOR UPDATE OF j SKIP LOCKED
)
RETURNING {COLUMNS}, payload, data
"""
REPORT = """
UPDATE jobs SET progress_done = $3, progress_total = $4, updated_at = $5, lease_expires_at = $6
WHERE id = $1 AND lease_owner = $2 AND status = 'running'
"""
FINISH = """
UPDATE jobs SET status = $4, result = $5, error = $6, updated_at = $3, finished_at = $3,
    lease_owner = NULL, lease_expires_at = NULL, data = NULL
WHERE id = $1 AND lease_owner = $2 AND status = 'running'
"""


def _job(row: asyncpg.Record) -> Job:
    return Job(
        id=row["id"], client_id=row["client_id"], kind=row["kind"], status=row["status"],
        done=row["progress_done"], total=row["progress_total"], error=row["error"],
        result=row["result"], attempts=row["attempts"], created_at=row["created_at"],
        updated_at=row["updated_at"], finished_at=row["finished_at"],
    )  # fmt: skip


class PgJobQueue(JobQueue):
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def enqueue(self, job: NewJob, at: datetime) -> Job:
        args = (job.id, job.client_id, job.kind, dict(job.payload), job.data, at)
        async with connection(self._pool) as conn:
            row = await conn.fetchrow(INSERT, *args, timeout=BULK_TIMEOUT)
        assert row is not None, "INSERT ... RETURNING returns its row"
        return _job(row)

    async def get(self, client_id: UUID, job_id: UUID) -> Job | None:
        async with connection(self._pool) as conn:
            row = await conn.fetchrow(SELECT, job_id, client_id)
        return _job(row) if row is not None else None

    async def claim(self, worker: str, now: datetime, lease_until: datetime) -> ClaimedJob | None:
        async with connection(self._pool) as conn:
            row = await conn.fetchrow(CLAIM, worker, now, lease_until, timeout=BULK_TIMEOUT)
        if row is None:
            return None
        return ClaimedJob(job=_job(row), payload=row["payload"], data=bytes(row["data"] or b""))

    async def report(
        self, job_id: UUID, worker: str, done: int, total: int, now: datetime, lease_until: datetime
    ) -> bool:
        async with connection(self._pool) as conn:
            status = await conn.execute(REPORT, job_id, worker, done, total, now, lease_until)
        return bool(status == "UPDATE 1")

    async def finish(
        self,
        job_id: UUID,
        worker: str,
        now: datetime,
        *,
        result: JsonObject | None = None,
        error: str | None = None,
    ) -> bool:
        state = "failed" if error is not None else "succeeded"
        stored = dict(result) if result is not None else None
        async with connection(self._pool) as conn:
            status = await conn.execute(FINISH, job_id, worker, now, state, stored, error)
        return bool(status == "UPDATE 1")
