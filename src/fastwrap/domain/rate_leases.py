"""Request budgets checked in the shared store once per lease, not once per request (SPEC §8).

A budget's counters live in one store all replicas share (Redis): checking it costs every
request a round trip. A `LeasedLimiter` takes, with the request that needs a round trip anyway,
a few more requests of that budget for later (`RateLimiter.take`), and spends them in this
process without asking again until they are gone or `lifetime` has passed. The store counts
every leased request when it leases it, so all replicas together never get more than the budget
has room for; a replica that leased more than it used gives the rest back with its next lease.

What a lease changes, and why it stays small:

- **A lease is sized by use and by room.** It starts at one request (exactly one round trip per
  request, as without leases); each time a lease runs out before it expires, the next one asks
  for twice as many (at most `max_lease`), and one that expires unfinished asks for one more than
  was used. It never asks for more than `1/share` of what the budget has left, so a budget
  with fewer than `2 × share` requests left is checked request by request, exactly.
- **A leased request is counted when it is leased, and may be used up to `lifetime` later.** In
  GCRA terms the budget's burst tolerance grows by at most `lifetime`: with 50 ms, a budget of
  1200/minute (one request every 50 ms) admits at most one request more in a burst, and a budget
  of 60/minute none.
- **The headers stay honest for this replica**: `RateLimit-Remaining` is what the store had left
  once it counted the lease, plus what of the lease is still unused here.

Failed logins (`LimitedLogins`) and anything else that refunds use the store directly: a
refund of a leased request would be a second refund.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from fastwrap.domain.model import RateDecision
from fastwrap.domain.rate_limits import Budget, RateCheck, Taken, micros, reported
from fastwrap.ports.clock import Clock
from fastwrap.ports.rate_limit import RateLimiter

DEFAULT_LIFETIME = timedelta(milliseconds=50)
MAX_LEASE = 256  # requests of one budget counted by one lease, at most
SHARE = 16  # a lease takes at most this fraction (1/SHARE) of what its budget has left


@dataclass(slots=True)
class _Lease:
    left: int  # counted by the store, not used yet
    used: int
    taken_at: int  # µs
    expires_at: int
    decision: RateDecision  # the store's, once it counted the whole lease

    @classmethod
    def of(cls, taken: Taken, now: int, lifetime_us: int) -> _Lease:
        return cls(taken.count, 0, now, now + lifetime_us, taken.decision)

    def usable(self, now: int) -> bool:
        return self.left > 0 and now < self.expires_at

    def spend(self, now: int) -> RateDecision:
        self.left -= 1
        self.used += 1
        elapsed = (now - self.taken_at) / 1_000_000
        decision = self.decision
        return RateDecision(
            allowed=True,
            limit=decision.limit,
            remaining=decision.remaining + self.left,
            reset_after=max(0.0, decision.reset_after - elapsed),
            retry_after=0.0,
        )

    def give_back(self) -> int:
        left, self.left = self.left, 0
        return left

    def next_size(self, max_lease: int, share: int) -> int:
        demand = 2 * self.used if self.left == 0 else self.used + 1
        room = self.decision.remaining // share
        return max(1, min(demand, max_lease, room))


class LeasedLimiter(RateLimiter):
    """A `RateLimiter` over `store` that asks it once per lease (see the module's docstring)."""

    def __init__(
        self,
        store: RateLimiter,
        clock: Clock,
        lifetime: timedelta = DEFAULT_LIFETIME,
        max_lease: int = MAX_LEASE,
        share: int = SHARE,
    ) -> None:
        self._store = store
        self._clock = clock
        self._lifetime_us = lifetime // timedelta(microseconds=1)
        self._max_lease = max_lease
        self._share = share
        self._leases: dict[Budget, _Lease] = {}
        self._size_after_sweep = 0

    async def hit_all(self, checks: Sequence[RateCheck]) -> RateDecision:
        now = micros(self._clock.now())
        budgets = [check.budget for check in checks]
        leases = [self._leases.get(budget) for budget in budgets]
        if all(lease is not None and lease.usable(now) for lease in leases):
            return reported([lease.spend(now) for lease in leases if lease is not None])
        # One round trip for every budget of this request: a fresh lease for each, the unused
        # rest of its last one given back (refused or not). That rest is never spent here
        # again: if the store cannot be reached, it stays counted there, erring on refusing.
        wants = [
            1 if lease is None else lease.next_size(self._max_lease, self._share)
            for lease in leases
        ]
        backs = [0 if lease is None else lease.give_back() for lease in leases]
        taken = await self._store.take(checks, wants, backs)
        if not all(t.count for t in taken):  # refused: nothing counted, the rest given back
            return reported([t.decision for t in taken])
        self._maybe_sweep(now)
        fresh = [_Lease.of(t, now, self._lifetime_us) for t in taken]
        for budget, before, lease in zip(budgets, leases, fresh, strict=True):
            meanwhile = self._leases.get(budget)
            if meanwhile is not None and meanwhile is not before:  # a concurrent request's
                lease.left += meanwhile.give_back()
                lease.expires_at = min(lease.expires_at, meanwhile.expires_at)
            self._leases[budget] = lease
        return reported([lease.spend(now) for lease in fresh])

    async def take(
        self, checks: Sequence[RateCheck], wants: Sequence[int], backs: Sequence[int]
    ) -> list[Taken]:
        return await self._store.take(checks, wants, backs)

    async def refund(self, checks: Sequence[RateCheck]) -> None:
        await self._store.refund(checks)

    def _maybe_sweep(self, now: int) -> None:
        """Forget long-expired leases once the table has doubled (their rest is not given
        back: it was counted, so the budget errs on the side of refusing)."""
        if len(self._leases) < 2 * max(self._size_after_sweep, 1024):
            return
        horizon = now - 10 * self._lifetime_us
        self._leases = {b: lease for b, lease in self._leases.items() if lease.expires_at > horizon}
        self._size_after_sweep = len(self._leases)
