"""LeasedLimiter (SPEC §8): a budget asked once per lease, and never more than the budget."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from fastwrap.adapters.memory.live_state import memory_live_state
from fastwrap.adapters.memory.rate_limit import InMemoryRateLimiter
from fastwrap.container.resources import request_limiter
from fastwrap.domain.model import RateDecision, RateLimit
from fastwrap.domain.rate_leases import LeasedLimiter
from fastwrap.domain.rate_limits import Gcra, RateCheck, Taken, micros
from tests.support.app import hermetic_settings
from tests.support.clock import ManualClock
from tests.support.limiters import Counted

AMPLE = RateLimit.parse("1000000/second")
LIFETIME = timedelta(milliseconds=50)


class YieldingStore(InMemoryRateLimiter):
    """The in-process store, letting other requests run while it answers, as a shared one does."""

    async def take(
        self, checks: Sequence[RateCheck], wants: Sequence[int], backs: Sequence[int]
    ) -> list[Taken]:
        await asyncio.sleep(0)
        taken = await super().take(checks, wants, backs)
        await asyncio.sleep(0)
        return taken


def budget(limit: RateLimit, owner: str = "client:a") -> list[RateCheck]:
    return [RateCheck(owner, "chat", limit)]


async def hits(limiter: LeasedLimiter, checks: list[RateCheck], n: int) -> list[RateDecision]:
    return [await limiter.hit_all(checks) for _ in range(n)]


async def test_an_ample_budget_is_asked_once_per_lease_and_leases_double() -> None:
    clock = ManualClock()
    store = Counted(InMemoryRateLimiter(clock))

    await hits(LeasedLimiter(store, clock, LIFETIME), budget(AMPLE), 100)

    assert store.asked == 7  # leases of 1, 2, 4, 8, 16, 32 and 64 requests


async def test_at_one_instant_it_reports_what_the_store_alone_would() -> None:
    clock = ManualClock()
    leased = await hits(
        LeasedLimiter(Counted(InMemoryRateLimiter(clock)), clock, LIFETIME), budget(AMPLE), 300
    )
    store = InMemoryRateLimiter(clock)
    alone = [await store.hit_all(budget(AMPLE)) for _ in range(300)]

    assert [d.remaining for d in leased] == [d.remaining for d in alone]
    assert all(d.allowed and d.limit == AMPLE.count for d in leased)


async def test_a_small_budget_is_asked_on_every_request_exactly() -> None:
    clock = ManualClock()
    store, alone = Counted(InMemoryRateLimiter(clock)), InMemoryRateLimiter(clock)
    limiter, limit = LeasedLimiter(store, clock, LIFETIME), RateLimit.parse("25/minute")

    leased = await hits(limiter, budget(limit), 30)
    bare = [await alone.hit_all(budget(limit)) for _ in range(30)]

    assert store.asked == 30
    assert leased == bare
    assert [d.allowed for d in leased] == [True] * 25 + [False] * 5


async def test_an_expired_lease_is_not_spent_and_its_rest_is_given_back() -> None:
    clock = ManualClock()
    store = Counted(InMemoryRateLimiter(clock))
    limit = RateLimit(count=3200, period=3600)  # leases of up to 3200 / 16
    limiter = LeasedLimiter(store, clock, LIFETIME)
    await hits(limiter, budget(limit), 4)  # leases of 1, 2 and 4: 3 of the last unused
    assert store.asked == 3

    clock.advance(0.06)
    await limiter.hit_all(budget(limit))

    assert store.asked == 4
    # Counted: 1 + 2 + 4, then 3 given back and a lease of 2 (one more than was used).
    probe = await store.hit_all(budget(limit))
    assert probe.remaining == 3200 - (7 - 3 + 2) - 1


async def test_a_refusal_is_the_store_s_and_the_budget_comes_back() -> None:
    clock = ManualClock()
    limit = RateLimit(count=40, period=60)
    limiter = LeasedLimiter(Counted(InMemoryRateLimiter(clock)), clock, LIFETIME)

    decisions = await hits(limiter, budget(limit), 45)

    assert sum(d.allowed for d in decisions) == 40
    refused = decisions[-1]
    assert not refused.allowed
    assert refused.retry_after == Gcra.of(limit).interval_us / 1_000_000
    clock.advance(refused.retry_after)
    assert (await limiter.hit_all(budget(limit))).allowed


async def test_one_request_spends_from_every_budget_or_none() -> None:
    clock = ManualClock()
    store = Counted(InMemoryRateLimiter(clock))
    limiter = LeasedLimiter(store, clock, LIFETIME)
    tight = RateLimit(count=2, period=60)
    both = [RateCheck("ip:1", "all", AMPLE), RateCheck("client:a", "chat", tight)]

    decisions = await hits(limiter, both, 5)

    assert [d.allowed for d in decisions] == [True, True, False, False, False]
    assert [d.limit for d in decisions] == [2] * 5  # the tightest is reported
    # The refused requests cost the ample budget nothing, and what its lease held unused was
    # given back: two spent.
    probe = await store.hit_all([RateCheck("ip:1", "all", AMPLE)])
    assert probe.remaining == AMPLE.count - 2 - 1


async def test_concurrent_requests_give_an_expired_lease_s_rest_back_once() -> None:
    clock = ManualClock()
    limit = RateLimit(count=1600, period=10)  # one every 6.25 ms, leases of up to 64
    limiter = LeasedLimiter(YieldingStore(clock), clock, LIFETIME)
    allowed = sum(d.allowed for d in await hits(limiter, budget(limit), 100))  # 27 leased, unused
    clock.advance(LIFETIME.total_seconds())  # the lease expires; the budget refills by 8

    at_once = await asyncio.gather(*(limiter.hit_all(budget(limit)) for _ in range(4)))
    allowed += sum(d.allowed for d in at_once)
    allowed += sum(d.allowed for d in await hits(limiter, budget(limit), 2000))

    assert allowed == limit.count + 8


@st.composite
def traffic(draw: st.DrawFn) -> tuple[RateLimit, int, list[tuple[int, int, int]]]:
    """A budget, a number of replicas, and (replica, µs later, how many at once) requests."""
    limit = RateLimit(
        count=draw(st.integers(min_value=1, max_value=2000)),
        period=draw(st.sampled_from([1.0, 10.0, 60.0])),
    )
    replicas = draw(st.integers(min_value=1, max_value=3))
    gaps = st.one_of(st.just(0), st.integers(0, 5_000), st.integers(0, 200_000))
    steps = st.tuples(st.integers(0, replicas - 1), gaps, st.integers(1, 4))
    return limit, replicas, draw(st.lists(steps, min_size=1, max_size=300))


@settings(max_examples=100, deadline=None)
@given(case=traffic())
async def test_replicas_never_admit_more_than_the_budget_stretched_by_one_lifetime(
    case: tuple[RateLimit, int, list[tuple[int, int, int]]],
) -> None:
    limit, replicas, steps = case
    clock = ManualClock()
    store = YieldingStore(clock)
    limiters = [LeasedLimiter(store, clock, LIFETIME) for _ in range(replicas)]
    gcra, lifetime_us = Gcra.of(limit), LIFETIME // timedelta(microseconds=1)
    admitted: list[int] = []

    for replica, gap_us, at_once in steps:
        clock.advance(gap_us / 1_000_000)
        limiter = limiters[replica]
        decisions = await asyncio.gather(*(limiter.hit_all(budget(limit)) for _ in range(at_once)))
        admitted += [micros(clock.now())] * sum(d.allowed for d in decisions)

    # GCRA admits at most the burst plus what a window of length d refills; a leased request
    # was counted up to one lifetime before it was used.
    for i, start in enumerate(admitted):
        for j in range(i, len(admitted)):
            window = admitted[j] - start + lifetime_us
            assert j - i + 1 <= limit.count + window // gcra.interval_us


def test_with_redis_the_requests_limiter_leases_and_without_it_does_not() -> None:
    clock = ManualClock()
    live = memory_live_state(clock, lock_wait_seconds=1, max_messages=10)

    redis = request_limiter(live, clock, hermetic_settings(redis_url="redis://127.0.0.1:6379/0"))
    off = request_limiter(
        live, clock, hermetic_settings(redis_url="redis://127.0.0.1:6379/0", rate_limit_lease_ms=0)
    )
    in_process = request_limiter(live, clock, hermetic_settings())

    assert isinstance(redis, LeasedLimiter)
    assert off is live.rate_limiter
    assert in_process is live.rate_limiter
