"""Request budgets shared by every replica."""

from __future__ import annotations

from typing import Protocol

from fastwrap.domain.model import RateDecision, RateLimit


class RateLimiter(Protocol):
    async def hit(self, key: str, limit: RateLimit) -> RateDecision:
        """Count one request against `key`'s budget and say whether it is allowed."""
        ...
