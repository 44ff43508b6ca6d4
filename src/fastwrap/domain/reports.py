"""Usage reports (SPEC §13): a tenant's calls, or every tenant's for admins, grouped."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

from fastwrap.domain.errors import Invalid
from fastwrap.domain.model import Page
from fastwrap.domain.pagination import DEFAULT_LIMIT, check_limit
from fastwrap.domain.usage import (
    UsageQuery,
    UsageRow,
    check_group_by,
    check_range,
    decode_group_cursor,
    encode_group_cursor,
)
from fastwrap.ports.clock import Clock
from fastwrap.ports.usage import UsageLedger

DEFAULT_DAYS = 30


class UsageReports:
    def __init__(self, *, ledger: UsageLedger, clock: Clock) -> None:
        self._ledger = ledger
        self._clock = clock

    async def report(
        self,
        client_id: UUID | None,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        group_by: str = "day",
        cursor: str | None = None,
        limit: int = DEFAULT_LIMIT,
    ) -> Page[UsageRow]:
        """Calls in [since, until) (default: the last 30 days up to now), one row per group,
        ordered by the group's value. `client_id` None: every client (admins only)."""
        check_limit(limit)
        until = until or self._clock.now()
        if since is None:
            try:
                since = until - timedelta(days=DEFAULT_DAYS)
            except OverflowError as exc:
                raise Invalid("to is too early; give from as well") from exc
        check_range(since, until)
        query = UsageQuery(
            client_id=client_id,
            since=since,
            until=until,
            group_by=check_group_by(group_by),
            limit=limit,
            after=decode_group_cursor(cursor) if cursor else None,
        )
        rows = await self._ledger.report(query)
        items = rows[:limit]
        more = len(rows) > limit and bool(items)
        return Page(
            items=tuple(items),
            next_cursor=encode_group_cursor(items[-1].group) if more else None,
        )
