"""RateLimiter contract (SPEC §8): GCRA budgets, the same in-process and in Redis."""

from __future__ import annotations

from fractions import Fraction
from uuid import uuid4

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fastwrap.adapters.memory.rate_limit import InMemoryRateLimiter
from fastwrap.domain.model import RateDecision, RateLimit
from fastwrap.domain.rate_leases import LeasedLimiter
from fastwrap.domain.rate_limits import RateCheck, micros
from tests.support.clock import ManualClock
from tests.support.limiters import Counted
from tests.support.redis import RateCase

FIVE_A_MINUTE = RateLimit(count=5, period=60)  # one request every 12 s, bursts of 5
THREE_A_MINUTE = RateLimit(count=3, period=60)  # one request every 20 s
SLACK = 0.05  # seconds of real time a Redis test may take between two hits


def key() -> str:
    return f"test:{uuid4()}"


async def hit(case: RateCase, owner: str, limit: RateLimit, budget: str = "test") -> RateDecision:
    return await case.limiter.hit_all([RateCheck(owner, budget, limit)])


async def burst(
    case: RateCase, owner: str, hits: int, limit: RateLimit, budget: str = "test"
) -> list[RateDecision]:
    return [await hit(case, owner, limit, budget) for _ in range(hits)]


async def test_a_fresh_budget_allows_a_full_burst(rate_limiter: RateCase) -> None:
    decisions = await burst(rate_limiter, key(), 5, FIVE_A_MINUTE)

    assert all(d.allowed and d.limit == 5 and d.retry_after == 0 for d in decisions)
    assert [d.remaining for d in decisions] == [4, 3, 2, 1, 0]
    resets = [d.reset_after for d in decisions]
    assert resets == pytest.approx([12, 24, 36, 48, 60], abs=SLACK)


async def test_over_budget_is_refused_with_sane_retry_after(rate_limiter: RateCase) -> None:
    name = key()
    await burst(rate_limiter, name, 5, FIVE_A_MINUTE)

    refused = await hit(rate_limiter, name, FIVE_A_MINUTE)

    assert not refused.allowed
    assert (refused.limit, refused.remaining) == (5, 0)
    assert refused.retry_after == pytest.approx(12, abs=SLACK)
    assert refused.reset_after == pytest.approx(60, abs=SLACK)


async def test_refused_requests_cost_nothing(rate_limiter: RateCase) -> None:
    name = key()
    await burst(rate_limiter, name, 5, FIVE_A_MINUTE)
    await burst(rate_limiter, name, 20, FIVE_A_MINUTE)  # hammering while refused

    await rate_limiter.advance(12)

    assert (await hit(rate_limiter, name, FIVE_A_MINUTE)).allowed
    assert not (await hit(rate_limiter, name, FIVE_A_MINUTE)).allowed


async def test_waiting_retry_after_is_enough(rate_limiter: RateCase) -> None:
    name = key()
    await burst(rate_limiter, name, 5, FIVE_A_MINUTE)
    refused = await hit(rate_limiter, name, FIVE_A_MINUTE)

    await rate_limiter.advance(refused.retry_after)

    allowed = await hit(rate_limiter, name, FIVE_A_MINUTE)
    assert allowed.allowed
    assert allowed.remaining == 0


async def test_no_double_burst_at_a_window_edge(rate_limiter: RateCase) -> None:
    # A fixed one-minute window would allow 5 at 0:59 and 5 more at 1:01.
    name = key()
    await rate_limiter.advance(59)
    first = await burst(rate_limiter, name, 5, FIVE_A_MINUTE)
    await rate_limiter.advance(2)
    second = await burst(rate_limiter, name, 5, FIVE_A_MINUTE)

    assert all(d.allowed for d in first)
    assert not any(d.allowed for d in second)


async def test_the_budget_refills_at_its_rate(rate_limiter: RateCase) -> None:
    name = key()
    await burst(rate_limiter, name, 5, FIVE_A_MINUTE)

    await rate_limiter.advance(25)  # two intervals of 12 s
    assert [d.allowed for d in await burst(rate_limiter, name, 3, FIVE_A_MINUTE)] == [
        True,
        True,
        False,
    ]
    await rate_limiter.advance(60)  # a whole period: the full burst is back
    assert all(d.allowed for d in await burst(rate_limiter, name, 5, FIVE_A_MINUTE))


async def test_keys_have_separate_budgets(rate_limiter: RateCase) -> None:
    spent, fresh = key(), key()
    await burst(rate_limiter, spent, 5, FIVE_A_MINUTE)

    assert not (await hit(rate_limiter, spent, FIVE_A_MINUTE)).allowed
    decision = await hit(rate_limiter, fresh, FIVE_A_MINUTE)
    assert decision.allowed
    assert decision.remaining == 4


async def test_a_budget_of_one_per_second(rate_limiter: RateCase) -> None:
    name, limit = key(), RateLimit.parse("1/second")

    first, second = await burst(rate_limiter, name, 2, limit)

    assert (first.allowed, first.remaining) == (True, 0)
    assert not second.allowed
    assert 0 < second.retry_after <= 1


async def test_several_budgets_are_all_spent_by_one_request(rate_limiter: RateCase) -> None:
    ip, client = key(), key()
    budgets = [RateCheck(ip, "all", FIVE_A_MINUTE), RateCheck(client, "api", THREE_A_MINUTE)]

    decisions = [await rate_limiter.limiter.hit_all(budgets) for _ in range(3)]

    # The tightest budget is the one reported: the client's 3 a minute.
    assert [(d.allowed, d.limit, d.remaining) for d in decisions] == [
        (True, 3, 2),
        (True, 3, 1),
        (True, 3, 0),
    ]
    assert (await hit(rate_limiter, ip, FIVE_A_MINUTE, "all")).remaining == 1


async def test_a_request_refused_by_one_budget_spends_from_none(rate_limiter: RateCase) -> None:
    ip, client = key(), key()
    await burst(rate_limiter, client, 3, THREE_A_MINUTE, "api")
    budgets = [RateCheck(ip, "all", FIVE_A_MINUTE), RateCheck(client, "api", THREE_A_MINUTE)]

    refusals = [await rate_limiter.limiter.hit_all(budgets) for _ in range(10)]

    assert not any(d.allowed for d in refusals)
    assert {(d.limit, d.remaining) for d in refusals} == {(3, 0)}
    assert refusals[0].retry_after == pytest.approx(20, abs=SLACK)
    fresh = await hit(rate_limiter, ip, FIVE_A_MINUTE, "all")
    assert (fresh.allowed, fresh.remaining) == (True, 4)


async def test_the_longest_wait_is_reported_when_several_refuse(rate_limiter: RateCase) -> None:
    slow, fast = key(), key()
    hourly = RateLimit(count=1, period=3600)
    await hit(rate_limiter, slow, hourly)
    await burst(rate_limiter, fast, 3, THREE_A_MINUTE)
    budgets = [RateCheck(fast, "test", THREE_A_MINUTE), RateCheck(slow, "test", hourly)]

    refused = await rate_limiter.limiter.hit_all(budgets)

    assert (refused.allowed, refused.limit) == (False, 1)
    assert refused.retry_after == pytest.approx(3600, abs=SLACK)


async def test_budgets_of_one_owner_are_apart_by_name(rate_limiter: RateCase) -> None:
    owner = key()
    await burst(rate_limiter, owner, 3, THREE_A_MINUTE, "chat")

    assert not (await hit(rate_limiter, owner, THREE_A_MINUTE, "chat")).allowed
    assert (await hit(rate_limiter, owner, THREE_A_MINUTE, "api")).remaining == 2


async def test_a_refund_gives_one_request_back(rate_limiter: RateCase) -> None:
    name = key()
    budget = [RateCheck(name, "test", THREE_A_MINUTE)]
    await burst(rate_limiter, name, 3, THREE_A_MINUTE)

    await rate_limiter.limiter.refund(budget)

    assert (await hit(rate_limiter, name, THREE_A_MINUTE)).allowed
    assert not (await hit(rate_limiter, name, THREE_A_MINUTE)).allowed


async def test_a_refund_never_makes_a_budget_bigger(rate_limiter: RateCase) -> None:
    untouched, refilled = key(), key()
    await hit(rate_limiter, refilled, THREE_A_MINUTE)
    await rate_limiter.advance(60)
    for name in (untouched, refilled):
        await rate_limiter.limiter.refund([RateCheck(name, "test", THREE_A_MINUTE)])

    for name in (untouched, refilled):
        decisions = await burst(rate_limiter, name, 4, THREE_A_MINUTE)
        assert [d.allowed for d in decisions] == [True, True, True, False]


async def take(
    case: RateCase, owner: str, limit: RateLimit, want: int, back: int = 0
) -> tuple[int, RateDecision]:
    [taken] = await case.limiter.take([RateCheck(owner, "test", limit)], [want], [back])
    return taken.count, taken.decision


async def test_take_counts_as_many_as_wanted_while_there_is_room(rate_limiter: RateCase) -> None:
    name = key()

    count, decision = await take(rate_limiter, name, FIVE_A_MINUTE, 3)
    assert (count, decision.allowed, decision.remaining) == (3, True, 2)
    count, decision = await take(rate_limiter, name, FIVE_A_MINUTE, 3)  # room for two only
    assert (count, decision.allowed, decision.remaining) == (2, True, 0)
    assert decision.reset_after == pytest.approx(60, abs=SLACK)
    count, refused = await take(rate_limiter, name, FIVE_A_MINUTE, 3)
    assert (count, refused.allowed) == (0, False)
    assert refused.retry_after == pytest.approx(12, abs=SLACK)


async def test_take_gives_back_before_it_counts(rate_limiter: RateCase) -> None:
    name = key()
    await take(rate_limiter, name, FIVE_A_MINUTE, 5)

    count, decision = await take(rate_limiter, name, FIVE_A_MINUTE, 1, back=3)

    assert (count, decision.remaining) == (1, 2)
    assert [d.allowed for d in await burst(rate_limiter, name, 3, FIVE_A_MINUTE)] == [
        True,
        True,
        False,
    ]


async def test_take_never_gives_back_more_than_a_full_budget(rate_limiter: RateCase) -> None:
    name = key()
    await take(rate_limiter, name, THREE_A_MINUTE, 1)

    count, decision = await take(rate_limiter, name, THREE_A_MINUTE, 10, back=50)

    assert (count, decision.remaining) == (3, 0)


async def test_a_refused_take_still_gives_back(rate_limiter: RateCase) -> None:
    ip, client = key(), key()
    await take(rate_limiter, ip, FIVE_A_MINUTE, 4)
    await burst(rate_limiter, client, 3, THREE_A_MINUTE)
    budgets = [RateCheck(ip, "test", FIVE_A_MINUTE), RateCheck(client, "test", THREE_A_MINUTE)]

    taken = await rate_limiter.limiter.take(budgets, [1, 1], [3, 0])

    assert [t.count for t in taken] == [0, 0]
    count, decision = await take(rate_limiter, ip, FIVE_A_MINUTE, 5)
    assert (count, decision.remaining) == (4, 0)  # 1 of the 4 spent, 3 given back


async def test_take_is_all_or_nothing_over_several_budgets(rate_limiter: RateCase) -> None:
    ip, client = key(), key()
    await burst(rate_limiter, client, 3, THREE_A_MINUTE, "api")
    budgets = [RateCheck(ip, "all", FIVE_A_MINUTE), RateCheck(client, "api", THREE_A_MINUTE)]

    taken = await rate_limiter.limiter.take(budgets, [4, 4], [0, 0])

    assert [t.count for t in taken] == [0, 0]
    assert [t.decision.allowed for t in taken] == [True, False]
    fresh = await hit(rate_limiter, ip, FIVE_A_MINUTE, "all")
    assert (fresh.allowed, fresh.remaining) == (True, 4)


async def test_replicas_leasing_from_one_store_admit_exactly_the_budget(
    rate_limiter: RateCase,
) -> None:
    store = Counted(rate_limiter.limiter)
    replicas = [LeasedLimiter(store, rate_limiter.clock) for _ in range(2)]
    limit = RateLimit(count=300, period=3600)
    checks = [RateCheck(key(), "chat", limit)]
    allowed = 0
    for i in range(400):
        allowed += (await replicas[i % 2].hit_all(checks)).allowed

    # 300 at once, and one every 12 s after: the test is over long before the next.
    assert allowed == limit.count
    assert store.asked < 400  # while the budget had room, requests were leased


class TokenBucket:
    """The same budget as a token bucket in exact arithmetic: the oracle for GCRA."""

    def __init__(self, count: int, interval_us: int) -> None:
        self.count, self.interval = count, interval_us
        self.tokens, self.last = Fraction(count), 0

    def hit(self, now: int) -> tuple[bool, int, Fraction, Fraction]:
        """allowed, remaining, reset and retry (µs), as the limiter should report them."""
        refill = Fraction(now - self.last, self.interval) if self.last else Fraction(0)
        self.tokens, self.last = min(Fraction(self.count), self.tokens + refill), now
        missing = self.count - self.tokens
        if self.tokens >= 1:
            self.tokens -= 1
            return True, int(self.tokens), (missing + 1) * self.interval, Fraction(0)
        return False, 0, missing * self.interval, (1 - self.tokens) * self.interval


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[RateLimit, list[tuple[int, int]]]:
    """A budget and (advance µs, hits) steps; many advances land a microsecond off a boundary."""
    limit = RateLimit(
        count=draw(st.integers(min_value=1, max_value=30)),
        period=draw(st.sampled_from([1.0, 7.0, 60.0, 3600.0])),
    )
    interval = round(limit.period * 1_000_000) // limit.count
    near_boundary = st.builds(
        lambda k, d: max(0, k * interval + d),
        st.integers(min_value=0, max_value=limit.count + 1),
        st.integers(min_value=-2, max_value=2),
    )
    advances = st.one_of(st.integers(0, 2 * limit.count * interval), near_boundary)
    hits = st.integers(min_value=1, max_value=6)
    return limit, draw(st.lists(st.tuples(advances, hits), max_size=40))


@settings(max_examples=200, deadline=None)
@given(scenario=scenarios())
async def test_gcra_arithmetic_is_exact(
    scenario: tuple[RateLimit, list[tuple[int, int]]],
) -> None:
    limit, steps = scenario
    count, period = limit.count, limit.period
    clock = ManualClock()
    limiter = InMemoryRateLimiter(clock)
    interval = round(period * 1_000_000) // count
    oracle = TokenBucket(count, interval)
    allowed_at: list[int] = []

    for advance_us, hits in steps:
        clock.advance(advance_us / 1_000_000)
        now = micros(clock.now())
        for _ in range(hits):
            decision = await limiter.hit_all([RateCheck("k", "t", limit)])
            ok, remaining, reset_us, retry_us = oracle.hit(now)
            assert decision.allowed is ok
            assert decision.remaining == remaining
            assert decision.reset_after == pytest.approx(float(reset_us) / 1e6, abs=1e-6)
            assert decision.retry_after == pytest.approx(float(retry_us) / 1e6, abs=1e-6)
            assert 0 <= decision.reset_after <= period
            assert decision.allowed or 0 < decision.retry_after <= interval / 1e6
            if ok:
                allowed_at.append(now)

    # No window of any length d ever admits more than the burst plus what d refills.
    for i, start in enumerate(allowed_at):
        for j in range(i, len(allowed_at)):
            assert j - i + 1 <= count + (allowed_at[j] - start) // interval
