"""Token budgets (SPEC §13): a client's per UTC day and month, an end user's per UTC day.

A call is admitted while every budget that applies has tokens left (`spent < limit`), and its
tokens are counted after it. Calls admitted together all run, so a budget is overshot by at
most what the calls already in flight when it ran out use: N concurrent calls at the edge
overshoot by at most N - 1 calls' tokens (the one that crossed the limit was admitted fairly).
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from fastwrap.domain.errors import BudgetExceeded
from fastwrap.domain.model import Caller
from fastwrap.ports.clock import Clock
from fastwrap.ports.repositories import CharacterRepository, ClientReader
from fastwrap.ports.usage import BudgetCounter

type Period = Literal["day", "month"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Budget:
    name: str
    limit: int
    period: Period
    window: str  # the counter's key: tenant first, then the budget, then the period
    resets_at: datetime


def period_start(now: datetime, period: Period) -> datetime:
    day = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return day if period == "day" else day.replace(day=1)


def period_end(now: datetime, period: Period) -> datetime:
    """The next UTC midnight, or the first instant of the next UTC month."""
    start = period_start(now, period)
    if period == "day":
        return start + timedelta(days=1)
    return (start + timedelta(days=32)).replace(day=1)


def period_label(now: datetime, period: Period) -> str:
    start = period_start(now, period)
    return start.strftime("%Y-%m-%d" if period == "day" else "%Y-%m")


def budget(name: str, limit: int, period: Period, scope: str, now: datetime) -> Budget:
    return Budget(
        name=name,
        limit=limit,
        period=period,
        window=f"{scope}:{name.replace(' ', '_')}:{period_label(now, period)}",
        resets_at=period_end(now, period),
    )


# The caller a turn admitted before it made its model call (ChatService admits before it
# searches or locks anything); the model's wrapper takes it as that call's admission instead of
# reading the counters again. A model call nobody admitted is admitted by the wrapper.
_admitted: ContextVar[Caller | None] = ContextVar("fastwrap_budget_admitted", default=None)


class BudgetGuard:
    """Admits model calls within their budgets and counts what they used.

    Limits come from the client (token_budget_daily / _monthly, set by an admin, and
    end_user_daily_tokens, the tenant's own setting for all its end users) and the character
    (end_user_daily_tokens, for its end users); a call with no budget to check costs no
    counter round trip at all (the client and character reads are the lookup caches').
    """

    def __init__(
        self,
        *,
        counter: BudgetCounter,
        clients: ClientReader,
        characters: CharacterRepository,
        clock: Clock,
    ) -> None:
        self._counter = counter
        self._clients = clients
        self._characters = characters
        self._clock = clock

    async def budgets(self, who: Caller, now: datetime) -> list[Budget]:
        found: list[Budget] = []
        tenant = str(who.client_id)
        client = await self._clients.get(who.client_id)
        if client is not None and client.token_budget_daily is not None:
            found.append(
                budget("token_budget_daily", client.token_budget_daily, "day", tenant, now)
            )
        if client is not None and client.token_budget_monthly is not None:
            limit = client.token_budget_monthly
            found.append(budget("token_budget_monthly", limit, "month", tenant, now))
        if who.end_user is None:
            return found
        end_user = f"{tenant}:eu:{who.end_user}"
        if client is not None and client.end_user_daily_tokens is not None:
            limit = client.end_user_daily_tokens
            found.append(budget("end_user_daily_tokens", limit, "day", end_user, now))
        if who.character_id is not None:
            character = await self._characters.get(who.client_id, who.character_id)
            if character is not None and character.end_user_daily_tokens is not None:
                limit, scope = character.end_user_daily_tokens, f"{end_user}:{character.id}"
                found.append(budget("character end_user_daily_tokens", limit, "day", scope, now))
        return found

    async def admit(self, who: Caller) -> None:
        """Raise BudgetExceeded, naming the budget, if any that applies is spent."""
        now = self._clock.now()
        budgets = await self.budgets(who, now)
        if not budgets:
            _admitted.set(who)
            return
        spent = await self._counter.spent([b.window for b in budgets])
        over = [b for b, used in zip(budgets, spent, strict=True) if used >= b.limit]
        if over:
            latest = max(over, key=lambda b: b.resets_at)  # every spent one must reset first
            names = ", ".join(f"{b.name} ({b.limit} tokens per UTC {b.period})" for b in over)
            raise BudgetExceeded(
                f"token budget exceeded: {names}; it resets at {latest.resets_at.isoformat()}",
                retry_after=(latest.resets_at - now).total_seconds(),
            )
        _admitted.set(who)

    async def admit_call(self, who: Caller) -> None:
        """Admit one model call: taken as admitted when its turn just admitted `who` (once),
        else checked now, so a call that no turn admitted is still held to its budgets."""
        if _admitted.get() != who:
            await self.admit(who)
        _admitted.set(None)

    async def charge(self, who: Caller, tokens: int) -> None:
        """Count `tokens` against every budget that applies now."""
        if tokens <= 0:
            return
        budgets = await self.budgets(who, self._clock.now())
        if budgets:
            await self._counter.add([(b.window, b.resets_at) for b in budgets], tokens)
