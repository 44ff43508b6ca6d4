"""GCRA rate limiting in this process, and the GCRA arithmetic the Redis limiter shares.

GCRA (the generic cell rate algorithm) keeps one number per key, the theoretical arrival time
(TAT). A budget of `count` per `period` spaces requests by the emission interval T = period/count
and tolerates a burst of `count` at once. Unlike a fixed window it never grants two full budgets
around a window edge: after a burst, requests come back one every T.

All arithmetic is in integer microseconds, so this limiter and the Lua script in Redis agree
exactly and no float rounding ever grants or refuses a request at a boundary.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from fastwrap.domain.model import RateDecision, RateLimit
from fastwrap.ports.clock import Clock
from fastwrap.ports.rate_limit import RateLimiter

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)
SWEEP_EVERY_US = 60_000_000


def micros(moment: datetime) -> int:
    return (moment - EPOCH) // MICROSECOND


@dataclass(frozen=True, slots=True)
class Gcra:
    """One budget in GCRA terms: emission interval T and burst tolerance tau = (count - 1)·T."""

    limit: int
    interval_us: int
    tolerance_us: int

    @classmethod
    def of(cls, limit: RateLimit) -> Gcra:
        interval = max(1, round(limit.period * 1_000_000) // limit.count)
        return cls(
            limit=limit.count, interval_us=interval, tolerance_us=(limit.count - 1) * interval
        )

    def step(self, tat: int | None, now: int) -> tuple[int | None, RateDecision]:
        """The new TAT (None when refused: a refused request costs nothing) and the decision."""
        start = now if tat is None or tat < now else tat
        allow_at = start - self.tolerance_us
        if now < allow_at:
            return None, self.refused(reset_us=start - now, retry_us=allow_at - now)
        new_tat = start + self.interval_us
        return new_tat, self.allowed(reset_us=new_tat - now)

    def allowed(self, reset_us: int) -> RateDecision:
        """An allowed request; `reset_us` is how long until the budget is full again."""
        remaining = (self.tolerance_us - reset_us) // self.interval_us + 1
        return RateDecision(
            allowed=True,
            limit=self.limit,
            remaining=max(0, remaining),
            reset_after=reset_us / 1_000_000,
            retry_after=0.0,
        )

    def refused(self, reset_us: int, retry_us: int) -> RateDecision:
        return RateDecision(
            allowed=False,
            limit=self.limit,
            remaining=0,
            reset_after=reset_us / 1_000_000,
            retry_after=retry_us / 1_000_000,
        )


class InMemoryRateLimiter(RateLimiter):
    """One TAT per key. A TAT in the past means a full budget, so such keys are swept away."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._tats: dict[str, int] = {}
        self._last_sweep = micros(clock.now())
        self._size_after_sweep = 0

    async def hit(self, key: str, limit: RateLimit) -> RateDecision:
        now = micros(self._clock.now())
        self._maybe_sweep(now)
        new_tat, decision = Gcra.of(limit).step(self._tats.get(key), now)
        if new_tat is not None:
            self._tats[key] = new_tat
        return decision

    def _maybe_sweep(self, now: int) -> None:
        grown = len(self._tats) >= 2 * max(self._size_after_sweep, 1024)
        if not grown and now - self._last_sweep < SWEEP_EVERY_US:
            return
        self._tats = {key: tat for key, tat in self._tats.items() if tat > now}
        self._last_sweep = now
        self._size_after_sweep = len(self._tats)
