"""GCRA rate limiting in this process; the arithmetic is fastwrap.domain.rate_limits'."""

from __future__ import annotations

from collections.abc import Sequence

from fastwrap.domain.model import RateDecision
from fastwrap.domain.rate_limits import Gcra, RateCheck, micros, reported
from fastwrap.ports.clock import Clock
from fastwrap.ports.rate_limit import RateLimiter

SWEEP_EVERY_US = 60_000_000

type Budget = tuple[str, str]  # (owner, name)


class InMemoryRateLimiter(RateLimiter):
    """One TAT per budget. A TAT in the past means a full budget, so such keys are swept away."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._tats: dict[Budget, int] = {}
        self._last_sweep = micros(clock.now())
        self._size_after_sweep = 0

    async def hit_all(self, checks: Sequence[RateCheck]) -> RateDecision:
        now = micros(self._clock.now())
        self._maybe_sweep(now)
        steps = [Gcra.of(c.limit).step(self._tats.get((c.owner, c.name)), now) for c in checks]
        spent = [(c, tat) for c, (tat, _) in zip(checks, steps, strict=True) if tat is not None]
        if len(spent) == len(checks):  # all or nothing
            for check, tat in spent:
                self._tats[check.owner, check.name] = tat
        return reported([decision for _, decision in steps])

    async def refund(self, checks: Sequence[RateCheck]) -> None:
        now = micros(self._clock.now())
        for check in checks:
            budget = (check.owner, check.name)
            back = Gcra.of(check.limit).refund(self._tats.get(budget), now)
            if back is None:
                self._tats.pop(budget, None)
            else:
                self._tats[budget] = back

    def _maybe_sweep(self, now: int) -> None:
        grown = len(self._tats) >= 2 * max(self._size_after_sweep, 1024)
        if not grown and now - self._last_sweep < SWEEP_EVERY_US:
            return
        self._tats = {key: tat for key, tat in self._tats.items() if tat > now}
        self._last_sweep = now
        self._size_after_sweep = len(self._tats)
