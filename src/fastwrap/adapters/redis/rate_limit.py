"""GCRA rate limiting in Redis: every budget of a request in one script, timed by Redis's clock.

The arithmetic is the domain's (fastwrap.domain.rate_limits.Gcra), in integer microseconds; the
script only reads, checks and moves the budgets' TATs, and spends from all of them or from none.
Using Redis TIME rather than each replica's clock means replicas with skewed clocks still share
one budget exactly.

Keys: `<prefix>rl:{<owner>}:<name>`, e.g. `fw:rl:{ip:203.0.113.7}:all`,
`fw:rl:{client:<uuid>}:chat`. The owner is the hash tag, so on Redis Cluster all of one owner's
budgets share a slot (a client's, and later its end-user tokens', are checked atomically). An IP
and a client are two owners, in two slots: there the script runs once per slot, concurrently
(still one round-trip time), and when one slot refuses what another spent, the spent budgets
are refunded. For that moment the refunded budgets count one request too many. A single Redis
(or Sentinel) runs one script for the whole request.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from redis.asyncio.cluster import RedisCluster

from fastwrap.adapters.redis.client import (
    DEFAULT_KEY_PREFIX,
    Outage,
    RedisClient,
    checked_prefix,
)
from fastwrap.domain.model import RateDecision
from fastwrap.domain.rate_limits import Gcra, RateCheck, Taken, reported
from fastwrap.ports.rate_limit import RateLimiter

RATE_KEYS = "rl:"  # after the key prefix: each key holds one budget's TAT in µs

# ARGV per key: interval, tolerance (µs), how many requests to count (this one and some kept
# for later: as many as fit, at least this one) and how many counted earlier to give back first
# (given back even when the request is refused).
# Returns {1 if counted else 0, then per key the TAT once given back, before this request,
# relative to now (µs, never negative)}: the domain's arithmetic recomputes the rest. Lua
# numbers are doubles: microseconds since 1970 (~2^51) are still exact integers.
TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local reply = {1}
local new_tats = {}
for i, key in ipairs(KEYS) do
  local interval = tonumber(ARGV[4 * i - 3])
  local tolerance = tonumber(ARGV[4 * i - 2])
  local tat = tonumber(redis.call('GET', key) or now) - tonumber(ARGV[4 * i]) * interval
  if tat < now then tat = now end
  if now < tat - tolerance then reply[1] = 0 end
  reply[i + 1] = tat - now
  local count = math.floor((now + tolerance - tat) / interval) + 1
  if count > tonumber(ARGV[4 * i - 1]) then count = tonumber(ARGV[4 * i - 1]) end
  new_tats[i] = tat + count * interval
end
if reply[1] == 1 then
  for i, key in ipairs(KEYS) do
    local ttl = math.ceil((new_tats[i] - now) / 1000)
    redis.call('SET', key, string.format('%d', new_tats[i]), 'PX', ttl)
  end
else
  for i, key in ipairs(KEYS) do
    if tonumber(ARGV[4 * i]) > 0 then
      if reply[i + 1] > 0 then
        local ttl = math.ceil(reply[i + 1] / 1000)
        redis.call('SET', key, string.format('%d', now + reply[i + 1]), 'PX', ttl)
      else
        redis.call('DEL', key)
      end
    end
  end
end
return reply
"""

# ARGV: per key, the µs to move its TAT back (the interval times the requests given back).
REFUND = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
for i, key in ipairs(KEYS) do
  local tat = tonumber(redis.call('GET', key))
  if tat then
    local back = tat - tonumber(ARGV[i])
    if back > now then
      redis.call('SET', key, string.format('%d', back), 'PX', math.ceil((back - now) / 1000))
    else
      redis.call('DEL', key)
    end
  end
end
return 0
"""


class RedisRateLimiter(RateLimiter):
    def __init__(self, client: RedisClient, key_prefix: str = DEFAULT_KEY_PREFIX) -> None:
        self._client = client
        self._keys = checked_prefix(key_prefix) + RATE_KEYS
        self._take = client.register_script(TAKE)
        self._refund = client.register_script(REFUND)
        self._outage = Outage("rate limiter")

    def key(self, check: RateCheck) -> str:
        return f"{self._keys}{{{check.owner}}}:{check.name}"

    async def hit_all(self, checks: Sequence[RateCheck]) -> RateDecision:
        taken = await self.take(checks, [1] * len(checks), [0] * len(checks))
        return reported([t.decision for t in taken])

    async def take(
        self, checks: Sequence[RateCheck], wants: Sequence[int], backs: Sequence[int]
    ) -> list[Taken]:
        asks = [_Ask(*ask) for ask in zip(checks, wants, backs, strict=True)]
        groups = self._by_slot(asks)
        with self._outage.watch():
            if len(groups) == 1:
                return await self._take_group(groups[0])
            replies = list(await asyncio.gather(*map(self._take_group, groups)))
            if not all(taken[0].count for taken in replies):  # all or nothing
                spent = [(g, t) for g, t in zip(groups, replies, strict=True) if t[0].count]
                await asyncio.gather(
                    *(self._refund_group(g, [x.count for x in t]) for g, t in spent)
                )
                replies = [[Taken(0, t.decision) for t in taken] for taken in replies]
        found: dict[int, Taken] = {}  # by the ask's identity: a cluster answers per slot
        for group, taken in zip(groups, replies, strict=True):
            found.update((id(ask), t) for ask, t in zip(group, taken, strict=True))
        return [found[id(ask)] for ask in asks]

    async def refund(self, checks: Sequence[RateCheck]) -> None:
        groups = self._by_slot([_Ask(check, 1, 0) for check in checks])
        with self._outage.watch():
            await asyncio.gather(*(self._refund_group(g, [1] * len(g)) for g in groups))

    def _by_slot(self, asks: list[_Ask]) -> list[list[_Ask]]:
        """One group on a single Redis; on a cluster, one per slot (the keys of one script)."""
        client = self._client
        if not isinstance(client, RedisCluster):
            return [asks]
        groups: dict[int, list[_Ask]] = {}
        for ask in asks:
            groups.setdefault(client.keyslot(self.key(ask.check)), []).append(ask)
        return list(groups.values())

    async def _take_group(self, asks: list[_Ask]) -> list[Taken]:
        gcras = [Gcra.of(ask.check.limit) for ask in asks]
        args = [
            n
            for gcra, ask in zip(gcras, asks, strict=True)
            for n in (gcra.interval_us, gcra.tolerance_us, max(1, ask.want), max(0, ask.back))
        ]
        reply = await self._take(keys=[self.key(ask.check) for ask in asks], args=args)
        # The script said whether all were counted; the counts and decisions are the domain's
        # arithmetic on the TATs it read, with "now" as zero.
        steps = [
            gcra.take(int(tat), 0, max(1, ask.want))
            for gcra, ask, tat in zip(gcras, asks, reply[1:], strict=True)
        ]
        counted = bool(int(reply[0]))
        return [Taken(count if counted else 0, decision) for _, count, decision in steps]

    async def _refund_group(self, asks: list[_Ask], counts: Sequence[int]) -> None:
        args = [
            Gcra.of(ask.check.limit).interval_us * count
            for ask, count in zip(asks, counts, strict=True)
        ]
        await self._refund(keys=[self.key(ask.check) for ask in asks], args=args)


@dataclass(frozen=True, slots=True, eq=False)
class _Ask:
    check: RateCheck
    want: int
    back: int
