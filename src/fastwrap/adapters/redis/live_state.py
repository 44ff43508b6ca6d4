"""The Redis live state: conversations, rate limits and a health probe over one pooled client."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from redis.asyncio.cluster import RedisCluster
from redis.exceptions import RedisError

from fastwrap.adapters.bundles import LiveState
from fastwrap.adapters.redis.budgets import RedisBudgetCounter
from fastwrap.adapters.redis.client import (
    DEFAULT_KEY_PREFIX,
    Outage,
    RedisClient,
    Timeouts,
    connect,
)
from fastwrap.adapters.redis.conversations import RedisConversationStore
from fastwrap.adapters.redis.rate_limit import RedisRateLimiter
from fastwrap.domain.model import HealthStatus
from fastwrap.ports.clock import Clock
from fastwrap.ports.health import HealthProbe

ADAPTER = "redis"
log = logging.getLogger("fastwrap.redis")


class RedisHealthProbe(HealthProbe):
    """PING with a short timeout. The pool reconnects by itself, so health recovers with Redis.

    /health answers anyone: its detail says what failed, never where (the driver's words name
    the host and port). The cause, address included, is logged once per outage.
    """

    def __init__(self, client: RedisClient, timeout_seconds: float = 1.0) -> None:
        self._client = client
        self._timeout = timeout_seconds
        self._outage = Outage("Redis (health check)")

    async def check(self) -> HealthStatus:
        try:
            async with asyncio.timeout(self._timeout):
                await self._client.ping()
        except TimeoutError as exc:
            self._outage.failed(exc)
            return HealthStatus(ok=False, adapter=ADAPTER, detail="no answer to PING in time")
        except Exception as exc:  # a probe reports, it never raises
            self._outage.failed(exc)
            detail = f"PING failed ({type(exc).__name__})"
            return HealthStatus(ok=False, adapter=ADAPTER, detail=detail)
        self._outage.answered()
        return HealthStatus(ok=True, adapter=ADAPTER)


@asynccontextmanager
async def open_redis_live_state(
    url: str,
    *,
    clock: Clock,
    lock_wait_seconds: float,
    lock_ttl_seconds: float,
    max_messages: int,
    timeouts: Timeouts | None = None,
    key_prefix: str = DEFAULT_KEY_PREFIX,
) -> AsyncIterator[LiveState]:
    """One client for the process. Start-up does not need Redis up: /health shows it down."""
    client = connect(url, timeouts)
    if isinstance(client, RedisCluster):
        await _load_slot_map(client)
    try:
        yield LiveState(
            conversations=RedisConversationStore(
                client,
                clock,
                lock_wait_seconds=lock_wait_seconds,
                lock_ttl_seconds=lock_ttl_seconds,
                max_messages=max_messages,
                key_prefix=key_prefix,
            ),
            rate_limiter=RedisRateLimiter(client, key_prefix),
            health=RedisHealthProbe(client),
            adapter=ADAPTER,
            budgets=RedisBudgetCounter(client, key_prefix),
        )
    finally:
        await client.aclose()


async def _load_slot_map(client: RedisCluster) -> None:
    """Load the cluster's slot map now: a fresh cluster client that gets a burst of first
    commands loads it lazily many times over and fails a share of them. Best effort, since
    start-up must not need Redis."""
    try:
        async with asyncio.timeout(3):
            await client.initialize()
    except (RedisError, OSError, TimeoutError) as exc:
        log.warning("Redis Cluster not reachable at start-up (%s): will retry on use", exc)
