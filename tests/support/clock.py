"""A clock that stands still until a test moves it, for TTLs and timestamps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastwrap.ports.clock import Clock


class ManualClock(Clock):
    """Time stands still until a test moves it."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 1, 1, tzinfo=UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)
