"""Token-budget counters in Redis, shared by every replica.

Keys: `<prefix>bud:{<owner>}:<rest>` for a window `<owner>:<rest>` (the domain names windows
after their tenant first, `<client id>:day:2026-01-31`), so all of one tenant's windows share a
Redis Cluster slot and are read with one MGET and counted with one script. A window's key
expires when its period ends (EXPIREAT), so nothing needs cleaning up.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from fastwrap.adapters.redis.client import DEFAULT_KEY_PREFIX, Outage, RedisClient, checked_prefix
from fastwrap.ports.usage import BudgetCounter

BUDGET_KEYS = "bud:"
# ARGV[1]: tokens; ARGV[1 + i]: the unix second KEYS[i]'s period ends.
ADD = """
for i, key in ipairs(KEYS) do
  redis.call('INCRBY', key, ARGV[1])
  redis.call('EXPIREAT', key, ARGV[i + 1])
end
return 0
"""


class RedisBudgetCounter(BudgetCounter):
    def __init__(self, client: RedisClient, key_prefix: str = DEFAULT_KEY_PREFIX) -> None:
        self._client = client
        self._keys = checked_prefix(key_prefix) + BUDGET_KEYS
        self._add = client.register_script(ADD)
        self._outage = Outage("budget counters")

    def key(self, window: str) -> str:
        owner, _, rest = window.partition(":")
        return f"{self._keys}{{{owner}}}:{rest}"

    async def spent(self, windows: Sequence[str]) -> list[int]:
        if not windows:
            return []
        with self._outage.watch():
            values = await self._client.mget([self.key(w) for w in windows])
        return [int(v) if v is not None else 0 for v in values]

    async def add(self, windows: Sequence[tuple[str, datetime]], tokens: int) -> None:
        if not windows or tokens <= 0:
            return
        keys = [self.key(w) for w, _ in windows]
        ends = [int(expires_at.timestamp()) for _, expires_at in windows]
        with self._outage.watch():
            await self._add(keys=keys, args=[tokens, *ends])
