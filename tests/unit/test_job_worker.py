"""The job worker over the in-memory queue: outcomes, progress, retries and a lost lease."""

from __future__ import annotations

import asyncio
from uuid import UUID, uuid4

import pytest

from fastwrap.adapters.bundles import Storage
from fastwrap.adapters.memory.repositories import memory_storage
from fastwrap.domain.errors import Invalid
from fastwrap.domain.jobs import MAX_ATTEMPTS, JobWorker, Progress
from fastwrap.domain.knowledge import ClaimedJob, NewJob
from fastwrap.domain.model import JsonObject
from tests.contract import seeds
from tests.support.clock import ManualClock

LEASE = 30.0


class Recorder:
    def __init__(self, fail: Exception | None = None) -> None:
        self.fail = fail
        self.started = asyncio.Event()
        self.go = asyncio.Event()
        self.go.set()

    async def __call__(self, job: ClaimedJob, progress: Progress) -> JsonObject:
        self.started.set()
        await self.go.wait()
        await progress(1, 2)
        if self.fail is not None:
            raise self.fail
        await progress(2, 2)
        return {"done_by": id(self)}


@pytest.fixture
async def setup() -> tuple[Storage, ManualClock, UUID]:
    storage, clock = memory_storage(), ManualClock()
    owner = await seeds.add_client(storage, clock.now())
    return storage, clock, owner


async def queue(storage: Storage, owner: UUID, clock: ManualClock, kind: str = "doc") -> UUID:
    job = NewJob(id=uuid4(), client_id=owner, kind=kind, payload={}, data=b"")
    return (await storage.jobs.enqueue(job, clock.now())).id


def worker(storage: Storage, clock: ManualClock, handler: Recorder) -> JobWorker:
    return JobWorker(storage.jobs, {"doc": handler}, clock, lease_seconds=LEASE)


async def test_a_job_runs_to_success_with_its_progress(
    setup: tuple[Storage, ManualClock, UUID],
) -> None:
    storage, clock, owner = setup
    handler = Recorder()
    job_id = await queue(storage, owner, clock)

    assert await worker(storage, clock, handler).run_once() is True
    assert await worker(storage, clock, handler).run_once() is False  # nothing left

    job = await storage.jobs.get(owner, job_id)
    assert job is not None
    assert (job.status, job.done, job.total, job.result) == (
        "succeeded",
        2,
        2,
        {"done_by": id(handler)},
    )


@pytest.mark.parametrize(
    ("failure", "error"),
    [
        (Invalid("the document holds no text"), "the document holds no text"),
        (RuntimeError("secret detail"), "internal error (see the server log)"),
    ],
)
async def test_a_failing_job_records_why(
    setup: tuple[Storage, ManualClock, UUID], failure: Exception, error: str
) -> None:
    storage, clock, owner = setup
    job_id = await queue(storage, owner, clock)

    await worker(storage, clock, Recorder(fail=failure)).run_once()

    job = await storage.jobs.get(owner, job_id)
    assert job is not None
    assert (job.status, job.error, job.done) == ("failed", error, 1)


async def test_unknown_kinds_and_jobs_that_kept_killing_workers_fail(
    setup: tuple[Storage, ManualClock, UUID],
) -> None:
    storage, clock, owner = setup
    unknown = await queue(storage, owner, clock, kind="mystery")
    await worker(storage, clock, Recorder()).run_once()
    killer = await queue(storage, owner, clock)
    for n in range(MAX_ATTEMPTS):  # each claim's worker "dies": its lease just runs out
        assert await storage.jobs.claim(f"dead{n}", clock.now(), clock.now()) is not None
        clock.advance(1)

    await worker(storage, clock, Recorder()).run_once()

    jobs = [await storage.jobs.get(owner, ident) for ident in (unknown, killer)]
    assert [(j.status, j.error) for j in jobs if j is not None] == [
        ("failed", "gave up: unknown job kind 'mystery' (0 attempts)"),
        ("failed", f"gave up: worker died ({MAX_ATTEMPTS} attempts)"),
    ]


async def test_a_worker_that_lost_its_lease_leaves_the_job_to_its_successor(
    setup: tuple[Storage, ManualClock, UUID],
) -> None:
    storage, clock, owner = setup
    job_id = await queue(storage, owner, clock)
    slow, quick = Recorder(), Recorder()
    slow.go.clear()
    first = asyncio.create_task(worker(storage, clock, slow).run_once())
    await slow.started.wait()

    clock.advance(2 * LEASE)  # the first worker looks dead: its lease ran out
    assert await worker(storage, clock, quick).run_once() is True
    slow.go.set()
    assert await first is True

    job = await storage.jobs.get(owner, job_id)
    assert job is not None
    assert (job.status, job.attempts, job.result) == ("succeeded", 2, {"done_by": id(quick)})
