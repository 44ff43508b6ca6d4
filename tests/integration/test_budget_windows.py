"""Budget windows at their edges (SPEC §13), with an injected clock: a UTC day and a UTC month
end, and Retry-After points at the end, over the in-process counters and Redis's."""

from __future__ import annotations

import calendar
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest

from fastwrap.adapters.memory.repositories import memory_storage
from fastwrap.adapters.memory.usage import InMemoryBudgetCounter
from fastwrap.adapters.redis.budgets import RedisBudgetCounter
from fastwrap.adapters.redis.client import connect
from fastwrap.domain.budgets import BudgetGuard, period_end
from fastwrap.domain.errors import BudgetExceeded
from fastwrap.domain.model import Caller, Character, Client
from fastwrap.ports.usage import BudgetCounter
from tests.support.clock import ManualClock
from tests.support.services import integration


def last_second_of_this_month() -> datetime:
    """Redis expires a window's key by its own (real) clock at the window's end, so the test's
    clock stands at the real month's last second: every window it opens ends in the future."""
    now = datetime.now(UTC)
    last_day = calendar.monthrange(now.year, now.month)[1]
    edge = now.replace(day=last_day, hour=23, minute=59, second=59, microsecond=0)
    return max(edge, now)


@dataclass
class Setup:
    guard: BudgetGuard
    clock: ManualClock
    client_id: UUID
    character_id: UUID


@pytest.fixture(params=["in-process", integration("redis")])
async def setup(request: pytest.FixtureRequest) -> AsyncIterator[Setup]:
    clock = ManualClock(last_second_of_this_month())
    storage = memory_storage()
    client_id, character_id = uuid4(), uuid4()
    now = clock.now()
    await storage.clients.add(
        Client(
            id=client_id, email="a@example.com", password_hash="x", key_digest="d" * 64,
            token_budget_daily=100, token_budget_monthly=250, created_at=now, updated_at=now,
        )
    )  # fmt: skip
    await storage.characters.add(
        Character(
            id=character_id, client_id=client_id, name=None, agent_role="x",
            end_user_daily_tokens=40, created_at=now, updated_at=now,
        )
    )  # fmt: skip
    counter: BudgetCounter
    if request.param == "in-process":
        counter = InMemoryBudgetCounter(clock)
        client = None
    else:
        client = connect(request.getfixturevalue("redis_url"))
        counter = RedisBudgetCounter(client, key_prefix=request.getfixturevalue("redis_namespace"))
    guard = BudgetGuard(
        counter=counter, clients=storage.clients, characters=storage.characters, clock=clock
    )
    try:
        yield Setup(guard, clock, client_id, character_id)
    finally:
        if client is not None:
            await client.aclose()


def caller(s: Setup, end_user: str | None = None) -> Caller:
    return Caller(client_id=s.client_id, character_id=s.character_id, end_user=end_user)


async def refusal(s: Setup, who: Caller) -> BudgetExceeded:
    with pytest.raises(BudgetExceeded) as refused:
        await s.guard.admit(who)
    return refused.value


async def test_a_daily_budget_resets_at_utc_midnight(setup: Setup) -> None:
    s = setup
    await s.guard.admit(caller(s))
    await s.guard.charge(caller(s), 100)

    refused = await refusal(s, caller(s))
    assert "token_budget_daily" in refused.detail
    assert refused.retry_after == pytest.approx(1.0)  # to 00:00:00 UTC, one second away

    s.clock.advance(1)
    await s.guard.admit(caller(s))  # a new day, and a new month


async def test_a_monthly_budget_holds_across_days_until_the_month_ends(setup: Setup) -> None:
    s = setup
    s.clock.advance(1)  # the first second of the next month
    for _ in range(2):
        await s.guard.charge(caller(s), 100)
        s.clock.advance(86_400)  # the next day: the daily budget is fresh
    await s.guard.charge(caller(s), 60)

    refused = await refusal(s, caller(s))
    assert "token_budget_monthly" in refused.detail
    assert "token_budget_daily" not in refused.detail
    month_end = period_end(s.clock.now(), "month")
    assert refused.retry_after == pytest.approx((month_end - s.clock.now()).total_seconds())
    assert refused.retry_after > 86_400 * 20


async def test_every_spent_budget_is_named_and_retry_after_is_the_latest(setup: Setup) -> None:
    s = setup
    s.clock.advance(1 + 86_400 * 3)  # well inside a month
    await s.guard.charge(caller(s), 250)

    refused = await refusal(s, caller(s))
    assert "token_budget_daily" in refused.detail
    assert "token_budget_monthly" in refused.detail
    end = period_end(s.clock.now(), "month")
    assert refused.retry_after == pytest.approx((end - s.clock.now()).total_seconds())


async def test_an_end_users_daily_budget_is_theirs_alone(setup: Setup) -> None:
    s = setup
    s.clock.advance(1)
    await s.guard.charge(caller(s, "eve"), 40)

    refused = await refusal(s, caller(s, "eve"))
    assert "end_user_daily_tokens" in refused.detail
    await s.guard.admit(caller(s, "bob"))
    await s.guard.admit(caller(s))  # the tenant's own calls have no end-user budget
    s.clock.advance(86_400)
    await s.guard.admit(caller(s, "eve"))


async def test_the_tenant_setting_applies_to_every_end_user() -> None:
    clock = ManualClock(datetime(2026, 5, 31, 23, 0, tzinfo=UTC))
    storage = memory_storage()
    tenant = uuid4()
    await storage.clients.add(
        Client(
            id=tenant, email="shop@example.com", password_hash="$2b$04$hash",
            key_digest=tenant.hex * 2, created_at=clock.now(), updated_at=clock.now(),
            end_user_daily_tokens=10,
        )
    )  # fmt: skip
    guard = BudgetGuard(
        counter=InMemoryBudgetCounter(clock), clients=storage.clients,
        characters=storage.characters, clock=clock,
    )  # fmt: skip
    who = Caller(client_id=tenant, end_user="eve")
    await guard.charge(who, 10)

    with pytest.raises(BudgetExceeded) as refused:
        await guard.admit(who)
    assert "end_user_daily_tokens" in refused.value.detail
    assert refused.value.retry_after == pytest.approx(timedelta(hours=1).total_seconds())
    await guard.admit(Caller(client_id=tenant, end_user="bob"))
    await guard.admit(Caller(client_id=tenant))  # the tenant's own calls have no end-user budget
