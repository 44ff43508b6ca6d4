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

from redis.asyncio.cluster import RedisCluster

from fastwrap.adapters.redis.client import (
    DEFAULT_KEY_PREFIX,
    Outage,
    RedisClient,
    checked_prefix,
)
from fastwrap.domain.model import RateDecision
from fastwrap.domain.rate_limits import Gcra, RateCheck, reported
from fastwrap.ports.rate_limit import RateLimiter

RATE_KEYS = "rl:"  # after the key prefix: each key holds one budget's TAT in µs

# ARGV: interval and tolerance (µs) per key. Returns {1 if spent else 0, then per key the TAT
# before this request, relative to now (µs, never negative)}. Lua numbers are doubles:
# microseconds since 1970 (~2^51) are still exact integers.
HIT_ALL = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local reply = {1}
local new_tats = {}
for i, key in ipairs(KEYS) do
  local tolerance = tonumber(ARGV[2 * i])
  local tat = tonumber(redis.call('GET', key) or now)
  if tat < now then tat = now end
  if now < tat - tolerance then reply[1] = 0 end
  reply[i + 1] = tat - now
  new_tats[i] = tat + tonumber(ARGV[2 * i - 1])
end
if reply[1] == 1 then
  for i, key in ipairs(KEYS) do
    local ttl = math.ceil((new_tats[i] - now) / 1000)
    redis.call('SET', key, string.format('%d', new_tats[i]), 'PX', ttl)
  end
end
return reply
"""

# ARGV: the interval (µs) per key. Moves each TAT back by one request; a full budget is dropped.
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
        self._hit = client.register_script(HIT_ALL)
        self._refund = client.register_script(REFUND)
        self._outage = Outage("rate limiter")

    def key(self, check: RateCheck) -> str:
        return f"{self._keys}{{{check.owner}}}:{check.name}"

    async def hit_all(self, checks: Sequence[RateCheck]) -> RateDecision:
        groups = self._by_slot(checks)
        with self._outage.watch():
            if len(groups) == 1:
                replies = [await self._hit_group(groups[0])]
            else:
                replies = list(await asyncio.gather(*map(self._hit_group, groups)))
                spent = [group for group, (ok, _) in zip(groups, replies, strict=True) if ok]
                if len(spent) < len(groups):
                    await asyncio.gather(*map(self._refund_group, spent))
        return reported([decision for _, decisions in replies for decision in decisions])

    async def refund(self, checks: Sequence[RateCheck]) -> None:
        with self._outage.watch():
            await asyncio.gather(*map(self._refund_group, self._by_slot(checks)))

    def _by_slot(self, checks: Sequence[RateCheck]) -> list[list[RateCheck]]:
        """One group on a single Redis; on a cluster, one per slot (the keys of one script)."""
        client = self._client
        if not isinstance(client, RedisCluster):
            return [list(checks)]
        groups: dict[int, list[RateCheck]] = {}
        for check in checks:
            groups.setdefault(client.keyslot(self.key(check)), []).append(check)
        return list(groups.values())

    async def _hit_group(self, checks: list[RateCheck]) -> tuple[bool, list[RateDecision]]:
        gcras = [Gcra.of(check.limit) for check in checks]
        args = [n for gcra in gcras for n in (gcra.interval_us, gcra.tolerance_us)]
        reply = await self._hit(keys=[self.key(check) for check in checks], args=args)
        # The script said whether all were allowed; the decisions are the domain's arithmetic
        # on the TATs it read, with "now" as zero.
        decisions = [gcra.step(int(tat), 0)[1] for gcra, tat in zip(gcras, reply[1:], strict=True)]
        return bool(int(reply[0])), decisions

    async def _refund_group(self, checks: list[RateCheck]) -> None:
        args = [Gcra.of(check.limit).interval_us for check in checks]
        await self._refund(keys=[self.key(check) for check in checks], args=args)
