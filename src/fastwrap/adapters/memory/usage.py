"""The usage ledger and budget counters in process memory (tests, FASTWRAP_STORAGE=memory)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from uuid import UUID

from fastwrap.domain.usage import UsageQuery, UsageRecord, UsageRow, group_value
from fastwrap.ports.clock import Clock
from fastwrap.ports.usage import BudgetCounter, UsageLedger


class InMemoryUsageLedger(UsageLedger):
    def __init__(self) -> None:
        self._records: dict[object, UsageRecord] = {}

    async def record(self, records: Sequence[UsageRecord]) -> None:
        for record in records:
            self._records.setdefault(record.id, record)

    async def report(self, query: UsageQuery) -> list[UsageRow]:
        groups: dict[str, list[UsageRecord]] = {}
        for r in self._records.values():
            if query.client_id is not None and r.client_id != query.client_id:
                continue
            if not query.since <= r.created_at < query.until:
                continue
            groups.setdefault(group_value(r, query.group_by) or "", []).append(r)
        # Byte order, as PostgreSQL's "C" collation sorts them; '' (no value) first.
        names = sorted(g for g in groups if query.after is None or g > query.after)
        return [_row(name, groups[name]) for name in names[: query.limit + 1]]

    async def anonymise(self, client_id: UUID, end_user: str) -> int:
        theirs = [
            key
            for key, r in self._records.items()
            if r.client_id == client_id and r.end_user == end_user
        ]
        for key in theirs:
            self._records[key] = replace(self._records[key], end_user=None)
        return len(theirs)


def _row(name: str, records: list[UsageRecord]) -> UsageRow:
    return UsageRow(
        group=name or None,
        requests=len(records),
        failed=sum(r.outcome != "ok" for r in records),
        input_tokens=sum(r.input_tokens for r in records),
        output_tokens=sum(r.output_tokens for r in records),
        estimated=any(r.estimated for r in records),
    )


class InMemoryBudgetCounter(BudgetCounter):
    """One process's counters; a window is forgotten once its period is over."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._counts: dict[str, tuple[int, datetime]] = {}

    async def spent(self, windows: Sequence[str]) -> list[int]:
        now = self._clock.now()
        return [
            count if (found := self._counts.get(w)) and (count := found[0]) and found[1] > now
            else 0
            for w in windows
        ]  # fmt: skip

    async def add(self, windows: Sequence[tuple[str, datetime]], tokens: int) -> None:
        now = self._clock.now()
        for window, expires_at in windows:
            count, until = self._counts.get(window, (0, expires_at))
            self._counts[window] = (count + tokens if until > now else tokens, expires_at)
