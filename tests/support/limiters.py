"""A rate limiter's store, counting the calls that reach it (each one round trip to Redis)."""

from __future__ import annotations

from collections.abc import Sequence

from fastwrap.domain.model import RateDecision
from fastwrap.domain.rate_limits import RateCheck, Taken
from fastwrap.ports.rate_limit import RateLimiter


class Counted(RateLimiter):
    """`store` unchanged, with `asked`: how many hits and takes reached it."""

    def __init__(self, store: RateLimiter) -> None:
        self.store, self.asked = store, 0

    async def hit_all(self, checks: Sequence[RateCheck]) -> RateDecision:
        self.asked += 1
        return await self.store.hit_all(checks)

    async def take(
        self, checks: Sequence[RateCheck], wants: Sequence[int], backs: Sequence[int]
    ) -> list[Taken]:
        self.asked += 1
        return await self.store.take(checks, wants, backs)

    async def refund(self, checks: Sequence[RateCheck]) -> None:
        await self.store.refund(checks)
