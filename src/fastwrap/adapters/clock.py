"""The system clock (tests bring their own, in tests/support/clock.py)."""

from __future__ import annotations

from datetime import UTC, datetime

from fastwrap.ports.clock import Clock


class SystemClock(Clock):
    def now(self) -> datetime:
        return datetime.now(UTC)
