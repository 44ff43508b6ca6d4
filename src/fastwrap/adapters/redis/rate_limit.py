"""GCRA rate limiting in Redis: one atomic script per hit, timed by the Redis server's clock.

The arithmetic is the in-process limiter's (fastwrap.adapters.memory.rate_limit.Gcra), in integer
microseconds; the script only reads and moves the key's TAT. Using Redis TIME rather than each
replica's clock means replicas with skewed clocks still share one budget exactly.
"""

from __future__ import annotations

from fastwrap.adapters.memory.rate_limit import Gcra
from fastwrap.adapters.redis.client import (
    DEFAULT_KEY_PREFIX,
    RedisClient,
    checked_prefix,
    unavailable,
)
from fastwrap.domain.model import RateDecision, RateLimit
from fastwrap.ports.rate_limit import RateLimiter

RATE_KEYS = "rl:"  # after the key prefix: fw:rl:<key> holds the key's TAT in µs

# Returns {1, reset_us} when allowed, {0, reset_us, retry_us} when refused. Lua numbers are
# doubles: microseconds since 1970 (~2^51) are still exact integers.
GCRA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local allow_at = tat - tolerance
if now < allow_at then return {0, tat - now, allow_at - now} end
local new_tat = tat + interval
redis.call('SET', KEYS[1], string.format('%d', new_tat), 'PX', math.ceil((new_tat - now) / 1000))
return {1, new_tat - now}
"""


class RedisRateLimiter(RateLimiter):
    def __init__(self, client: RedisClient, key_prefix: str = DEFAULT_KEY_PREFIX) -> None:
        self._keys = checked_prefix(key_prefix) + RATE_KEYS
        self._script = client.register_script(GCRA)

    async def hit(self, key: str, limit: RateLimit) -> RateDecision:
        gcra = Gcra.of(limit)
        with unavailable("rate limiter"):
            reply = await self._script(
                keys=[self._keys + key], args=[gcra.interval_us, gcra.tolerance_us]
            )
        if int(reply[0]):
            return gcra.allowed(reset_us=int(reply[1]))
        return gcra.refused(reset_us=int(reply[1]), retry_us=int(reply[2]))
