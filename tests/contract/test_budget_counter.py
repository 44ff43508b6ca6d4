"""BudgetCounter contract (SPEC §13): the same in-process and in Redis."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from uuid import uuid4

from fastwrap.ports.usage import BudgetCounter


def window(name: str = "token_budget_daily:2026-03-10") -> str:
    return f"{uuid4()}:{name}"


def later(days: float = 1) -> datetime:
    return datetime.now(UTC) + timedelta(days=days)


async def test_a_window_never_counted_has_spent_nothing(budget_counter: BudgetCounter) -> None:
    assert await budget_counter.spent([window(), window()]) == [0, 0]


async def test_tokens_add_up_in_every_window_named(budget_counter: BudgetCounter) -> None:
    day, month, other = window(), window("token_budget_monthly:2026-03"), window()
    await budget_counter.add([(day, later()), (month, later(30))], 120)
    await budget_counter.add([(day, later())], 7)

    assert await budget_counter.spent([day, month, other]) == [127, 120, 0]


async def test_concurrent_additions_are_all_counted(budget_counter: BudgetCounter) -> None:
    day = window()

    await asyncio.gather(*(budget_counter.add([(day, later())], 3) for _ in range(50)))

    assert await budget_counter.spent([day]) == [150]


async def test_a_window_whose_period_ended_counts_nothing(budget_counter: BudgetCounter) -> None:
    ended = window()
    await budget_counter.add([(ended, datetime.now(UTC) - timedelta(seconds=1))], 50)

    assert await budget_counter.spent([ended]) == [0]


async def test_nothing_to_add_changes_nothing(budget_counter: BudgetCounter) -> None:
    day = window()
    await budget_counter.add([(day, later())], 0)
    await budget_counter.add([], 10)

    assert await budget_counter.spent([day]) == [0]
    assert await budget_counter.spent([]) == []
