"""GCRA rate limiting in this process; the arithmetic is fastwrap.domain.rate_limits'."""

from __future__ import annotations

from collections.abc import Sequence

from fastwrap.domain.model import RateDecision
from fastwrap.domain.rate_limits import Budget, Gcra, RateCheck, Taken, micros, reported
from fastwrap.ports.clock import Clock
from fastwrap.ports.rate_limit import RateLimiter

SWEEP_EVERY_US = 60_000_000


class InMemoryRateLimiter(RateLimiter):
    """One TAT per budget. A TAT in the past means a full budget, so such keys are swept away."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._tats: dict[Budget, int] = {}
        self._last_sweep = micros(clock.now())
        self._size_after_sweep = 0

    async def hit_all(self, checks: Sequence[RateCheck]) -> RateDecision:
        taken = await self.take(checks, [1] * len(checks), [0] * len(checks))
        return reported([t.decision for t in taken])

    async def take(
        self, checks: Sequence[RateCheck], wants: Sequence[int], backs: Sequence[int]
    ) -> list[Taken]:
        now = micros(self._clock.now())
        self._maybe_sweep(now)
        given_back: list[int | None] = []
        steps = []
        for check, want, back in zip(checks, wants, backs, strict=True):
            gcra = Gcra.of(check.limit)
            tat = self._tats.get(check.budget)
            given_back.append(gcra.refund(tat, now, back) if back else tat)
            steps.append(gcra.take(given_back[-1], now, want))
        counted = all(count for _, count, _ in steps)  # all or nothing
        for check, back, tat, (new_tat, _, _) in zip(checks, backs, given_back, steps, strict=True):
            if counted:
                self._put(check.budget, new_tat)
            elif back:  # refused, but what was to be given back is
                self._put(check.budget, tat)
        return [Taken(count if counted else 0, decision) for _, count, decision in steps]

    async def refund(self, checks: Sequence[RateCheck]) -> None:
        now = micros(self._clock.now())
        for check in checks:
            self._put(check.budget, Gcra.of(check.limit).refund(self._tats.get(check.budget), now))

    def _put(self, budget: Budget, tat: int | None) -> None:
        """A budget's new TAT; None: it is full again, so it is forgotten."""
        if tat is None:
            self._tats.pop(budget, None)
        else:
            self._tats[budget] = tat

    def _maybe_sweep(self, now: int) -> None:
        grown = len(self._tats) >= 2 * max(self._size_after_sweep, 1024)
        if not grown and now - self._last_sweep < SWEEP_EVERY_US:
            return
        self._tats = {key: tat for key, tat in self._tats.items() if tat > now}
        self._last_sweep = now
        self._size_after_sweep = len(self._tats)
