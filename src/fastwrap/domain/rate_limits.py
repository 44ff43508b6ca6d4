"""Rate budgets (SPEC §8): the GCRA arithmetic both limiters share, and who a budget counts.

GCRA (the generic cell rate algorithm) keeps one number per budget, the theoretical arrival
time (TAT). A budget of `count` per `period` spaces requests by the emission interval
T = period/count and tolerates a burst of `count` at once. Unlike a fixed window it never grants
two full budgets around a window edge: after a burst, requests come back one every T.

All arithmetic is in integer microseconds, so the in-process limiter and the Lua script in Redis
agree exactly and no float rounding ever grants or refuses a request at a boundary.
"""

from __future__ import annotations

import functools
import hashlib
import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from fastwrap.domain.model import RateDecision, RateLimit

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)
IPV6_BUDGET_PREFIX = 64  # one budget per /64: what one subscriber usually gets
_OWNER_RE = re.compile(r"^[A-Za-z0-9:._/-]{1,128}$")

type Budget = tuple[str, str]  # (owner, name): one budget's identity, whatever its limit


def micros(moment: datetime) -> int:
    return (moment - EPOCH) // MICROSECOND


@dataclass(frozen=True, slots=True)
class RateCheck:
    """One budget a request counts against: `owner` is who is counted (an IP, a client), `name`
    which of its budgets. A limiter keeps one owner's budgets together (one Redis Cluster slot),
    so that a client's budget and, later, its end-user tokens' are checked in one place."""

    owner: str
    name: str
    limit: RateLimit

    def __post_init__(self) -> None:
        if not _OWNER_RE.fullmatch(self.owner) or not _OWNER_RE.fullmatch(self.name):
            raise ValueError(f"rate budget {self.owner!r}/{self.name!r} has unsafe characters")

    @property
    def budget(self) -> Budget:
        return self.owner, self.name


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
        new_tat, _, decision = self.take(tat, now, want=1)
        return new_tat, decision

    def take(self, tat: int | None, now: int, want: int) -> tuple[int | None, int, RateDecision]:
        """Count this request and up to `want` - 1 more for later, as many as the budget has
        room for now: the new TAT (None when refused), how many were counted (0 when
        refused) and the decision once they were."""
        start = now if tat is None or tat < now else tat
        allow_at = start - self.tolerance_us
        if now < allow_at:
            return None, 0, self.refused(reset_us=start - now, retry_us=allow_at - now)
        count = min(max(1, want), (now - allow_at) // self.interval_us + 1)
        new_tat = start + count * self.interval_us
        return new_tat, count, self.allowed(reset_us=new_tat - now)

    def refund(self, tat: int | None, now: int, count: int = 1) -> int | None:
        """The TAT once `count` spent requests are given back; None: the budget is full again."""
        if tat is None:
            return None
        back = tat - count * self.interval_us
        return back if back > now else None

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


@dataclass(frozen=True, slots=True)
class Taken:
    """What one budget counted for a request (`RateLimiter.take`): `count` requests, this one
    and those kept for later (0 when the request was refused), and its decision once counted."""

    count: int
    decision: RateDecision


def reported(decisions: Sequence[RateDecision]) -> RateDecision:
    """The one decision to report for a request checked against several budgets.

    Refused: the refusal with the longest wait (only then would every budget allow it). Allowed:
    the budget with the fewest requests left.
    """
    refused = [d for d in decisions if not d.allowed]
    if refused:
        return max(refused, key=lambda d: d.retry_after)
    return min(decisions, key=lambda d: d.remaining)


@functools.lru_cache(maxsize=4096)  # pure, and the same few addresses ask again and again
def ip_owner(address: str) -> str:
    """Whose budget an IP spends: an IPv4 address its own, an IPv6 address its /64's.

    Anything that is not an address (a name a proxy sent, a unix socket) counts as itself,
    hashed so that it is safe in a key.
    """
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return "ip:h" + hashlib.sha256(address.encode("utf-8", "replace")).hexdigest()[:32]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return f"ip:{ip.ipv4_mapped}"
        network = ipaddress.IPv6Network((ip, IPV6_BUDGET_PREFIX), strict=False)
        return f"ip:{network.network_address}/{IPV6_BUDGET_PREFIX}"
    return f"ip:{ip}"


def login_owner(email: str) -> str:
    """Whose budget a failed login spends: the address, lower-cased whole, digested (a limiter
    key never shows an email)."""
    normalised = email.strip().lower()
    return "login:" + hashlib.sha256(normalised.encode("utf-8", "replace")).hexdigest()[:32]
