"""Log-in with SPEC §8's per-account limit on failures: N per period per email, whatever the IP.

The attempt is counted before the password is checked (before bcrypt runs), so that many
guesses sent at once cannot all slip past the check; an attempt that turns out not to be a
failed login (the password was right, or the database failed) is given back. What is counted
is keyed by the email alone, so an email that has no account is limited exactly like one that
has: the answers do not tell them apart.
"""

from __future__ import annotations

import math

from fastwrap.domain.clients import ClientService, IssuedKey
from fastwrap.domain.errors import RateLimited, Unauthorized, Unavailable
from fastwrap.domain.model import RateLimit
from fastwrap.domain.rate_limits import RateCheck, login_owner
from fastwrap.ports.rate_limit import RateLimiter


class LimitedLogins:
    """`ClientService.log_in` behind the failure budget; `limiter=None` turns the limit off."""

    def __init__(
        self,
        clients: ClientService,
        limiter: RateLimiter | None,
        failures: RateLimit,
        *,
        fail_open: bool = True,
    ) -> None:
        self._clients = clients
        self._limiter = limiter
        self._failures = failures
        self._fail_open = fail_open

    async def log_in(self, email: str, password: str) -> IssuedKey:
        if self._limiter is None:
            return await self._clients.log_in(email, password)
        budget = [RateCheck(login_owner(email), "failures", self._failures)]
        counted = await self._count(self._limiter, budget)
        try:
            issued = await self._clients.log_in(email, password)
        except Unauthorized:
            raise  # a failed login: it stays counted
        except BaseException:
            if counted:
                await self._give_back(self._limiter, budget)
            raise
        if counted:
            await self._give_back(self._limiter, budget)
        return issued

    async def _count(self, limiter: RateLimiter, budget: list[RateCheck]) -> bool:
        """Whether the attempt was counted; RateLimited when the email is over its budget."""
        try:
            decision = await limiter.hit_all(budget)
        except Unavailable:
            if not self._fail_open:
                raise
            return False  # the limiter logs its outage
        if not decision.allowed:
            raise RateLimited(
                "too many failed logins for this email; "
                f"retry in {max(1, math.ceil(decision.retry_after))} s",
                decision.retry_after,
                limit=decision.limit,
                reset_after=decision.reset_after,
            )
        return True

    async def _give_back(self, limiter: RateLimiter, budget: list[RateCheck]) -> None:
        try:
            await limiter.refund(budget)
        except Unavailable:
            pass  # counted one failure too many, until the budget refills; the limiter logs
