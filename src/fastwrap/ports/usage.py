"""Where model calls are recorded, and the counters token budgets are checked against."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol
from uuid import UUID

from fastwrap.domain.usage import UsageQuery, UsageRecord, UsageRow


class UsageLedger(Protocol):
    """The durable record of every model call (PostgreSQL; in memory for tests)."""

    async def record(self, records: Sequence[UsageRecord]) -> None:
        """Store `records` in one atomic write; when it returns they are durable. A record
        whose id is already stored is skipped, so a retried batch counts nothing twice."""
        ...

    async def report(self, query: UsageQuery) -> list[UsageRow]:
        """Up to `query.limit` + 1 groups (the extra one says there is more), ordered by
        their value with calls of no value first; deleted records are left out."""
        ...

    async def anonymise(self, client_id: UUID, end_user: str) -> int:
        """Remove the end user's name from the tenant's records (an erasure request): the
        calls stay counted, as no one's. How many records named them."""
        ...


class BudgetCounter(Protocol):
    """Tokens spent per budget window, shared by every replica (Redis) or in-process.

    A window is a key that names its budget and period (`...:day:2026-01-31`); `expires_at`
    is when the period ends, after which its count is of no use and may be forgotten.
    """

    async def spent(self, windows: Sequence[str]) -> list[int]:
        """The tokens counted in each window so far (0 for one never counted)."""
        ...

    async def add(self, windows: Sequence[tuple[str, datetime]], tokens: int) -> None:
        """Count `tokens` in every (window, expires_at), in one atomic step."""
        ...
