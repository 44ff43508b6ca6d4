"""Request budgets shared by every replica."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from fastwrap.domain.model import RateDecision
from fastwrap.domain.rate_limits import RateCheck, Taken


class RateLimiter(Protocol):
    async def hit_all(self, checks: Sequence[RateCheck]) -> RateDecision:
        """Count one request against every budget in `checks`, or against none of them if any
        refuses it (a refused request costs nothing). The decision is `reported()`'s: the
        refusal with the longest wait, else the budget with the fewest requests left.
        Raises Unavailable when the counters cannot be reached."""
        ...

    async def take(
        self, checks: Sequence[RateCheck], wants: Sequence[int], backs: Sequence[int]
    ) -> list[Taken]:
        """`hit_all`, counting up to `wants[i]` requests against budget i (this one and some
        kept for later, as many as it has room for now) after giving back `backs[i]` it counted
        earlier and nobody will use. All or nothing: when any budget refuses, nothing is
        counted and every `count` is 0; what was to be given back is given back all the same.
        One `Taken` per check, in order."""
        ...

    async def refund(self, checks: Sequence[RateCheck]) -> None:
        """Give back one request that `hit_all(checks)` counted (a login that did not fail).
        A budget that is full already stays full."""
        ...
