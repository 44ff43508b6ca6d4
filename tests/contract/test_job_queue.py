"""The job queue contract, held by the in-memory queue and the PostgreSQL table alike."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from uuid import UUID, uuid4

from fastwrap.adapters.bundles import Storage
from fastwrap.domain.knowledge import NewJob
from tests.contract import seeds
from tests.contract.test_vector_index import T0

LEASE = timedelta(seconds=30)


def new_job(owner: UUID, n: int = 0) -> NewJob:
    return NewJob(
        id=uuid4(), client_id=owner, kind="document", payload={"n": n, "name": "ü"},
        data=b"\x00\x01bytes",
    )  # fmt: skip


async def test_a_queued_job_is_seen_by_its_tenant_only(storage: Storage) -> None:
    owner, other = await seeds.add_client(storage, T0), await seeds.add_client(storage, T0)
    job = await storage.jobs.enqueue(new_job(owner), T0)

    assert (job.status, job.done, job.total, job.attempts, job.created_at) == (
        "queued", 0, 0, 0, T0,
    )  # fmt: skip
    assert await storage.jobs.get(owner, job.id) == job
    assert await storage.jobs.get(other, job.id) is None


async def test_claims_go_oldest_first_and_never_twice(storage: Storage) -> None:
    owner = await seeds.add_client(storage, T0)
    first = await storage.jobs.enqueue(new_job(owner, 1), T0)
    second = await storage.jobs.enqueue(new_job(owner, 2), T0 + timedelta(seconds=1))
    now = T0 + timedelta(seconds=5)

    claims = await asyncio.gather(
        *(storage.jobs.claim(f"w{n}", now, now + LEASE) for n in range(3))
    )

    held = [c for c in claims if c is not None]
    assert sorted(c.job.id for c in held) == sorted([first.id, second.id])
    [one] = [c for c in held if c.job.id == first.id]
    assert (one.payload, one.data, one.job.status, one.job.attempts) == (
        {"n": 1, "name": "ü"}, b"\x00\x01bytes", "running", 1,
    )  # fmt: skip


async def test_a_lapsed_lease_hands_the_job_to_another_worker(storage: Storage) -> None:
    owner = await seeds.add_client(storage, T0)
    job = await storage.jobs.enqueue(new_job(owner), T0)
    assert await storage.jobs.claim("dead", T0, T0 + LEASE) is not None
    assert await storage.jobs.report(job.id, "dead", 3, 10, T0, T0 + LEASE) is True
    assert await storage.jobs.claim("next", T0 + LEASE / 2, T0 + LEASE) is None  # still held

    later = T0 + 2 * LEASE
    taken = await storage.jobs.claim("next", later, later + LEASE)

    assert taken is not None
    assert (taken.job.attempts, taken.job.done, taken.job.total) == (2, 3, 10)
    assert await storage.jobs.report(job.id, "dead", 4, 10, later, later + LEASE) is False
    assert await storage.jobs.finish(job.id, "dead", later, result={"x": 1}) is False
    assert await storage.jobs.report(job.id, "next", 10, 10, later, later + LEASE) is True


async def test_finishing_records_the_outcome_once(storage: Storage) -> None:
    owner = await seeds.add_client(storage, T0)
    good = await storage.jobs.enqueue(new_job(owner), T0)
    bad = await storage.jobs.enqueue(new_job(owner), T0 + timedelta(seconds=1))
    for _ in range(2):
        await storage.jobs.claim("w", T0, T0 + LEASE)
    end = T0 + timedelta(seconds=9)

    assert await storage.jobs.finish(good.id, "w", end, result={"chunks": 3}) is True
    assert await storage.jobs.finish(bad.id, "w", end, error="the document holds no text")
    assert await storage.jobs.finish(good.id, "w", end, error="again") is False

    done = await storage.jobs.get(owner, good.id)
    failed = await storage.jobs.get(owner, bad.id)
    assert done is not None
    assert failed is not None
    assert (done.status, done.result, done.error, done.finished_at) == (
        "succeeded", {"chunks": 3}, None, end,
    )  # fmt: skip
    assert (failed.status, failed.error) == ("failed", "the document holds no text")
    assert await storage.jobs.claim("w", end + 3 * LEASE, end + 4 * LEASE) is None


async def test_a_deleted_tenants_jobs_are_not_claimed(storage: Storage) -> None:
    owner = await seeds.add_client(storage, T0)
    await storage.jobs.enqueue(new_job(owner), T0)
    await storage.clients.delete(owner, T0)

    assert await storage.jobs.claim("w", T0, T0 + LEASE) is None
