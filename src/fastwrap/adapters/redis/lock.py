"""A per-conversation lock in Redis, shared by every replica.

SET NX PX with a random token takes it; a compare-and-delete script releases it, so a holder whose
lock already expired can never release someone else's. The lock expires by itself after `ttl`
so a crashed holder cannot block a conversation forever; while the holder lives, a watchdog
extends it every ttl/3 so a long (streamed) turn keeps it.
"""

from __future__ import annotations

import asyncio
import logging
import random
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastwrap.adapters.redis.client import RedisClient, describe, unavailable
from fastwrap.domain.errors import Busy

log = logging.getLogger("fastwrap.redis")

BUSY_DETAIL = "another turn on this conversation is still running; try again shortly"

RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

EXTEND = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""

FIRST_POLL_SECONDS = 0.005
MAX_POLL_SECONDS = 0.05


class RedisLock:
    def __init__(
        self, client: RedisClient, *, wait_seconds: float, ttl_seconds: float, what: str
    ) -> None:
        self._client = client
        self._wait = wait_seconds
        self._ttl_ms = max(1, round(ttl_seconds * 1000))
        self._what = what
        self._release = client.register_script(RELEASE)
        self._extend = client.register_script(EXTEND)

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        token = secrets.token_hex(16)
        await self._acquire(key, token)
        watchdog = asyncio.create_task(self._keep(key, token))
        try:
            yield
        finally:
            # The token makes a late extension after the release a no-op, so no need to wait.
            watchdog.cancel()
            await self._give_back(key, token)

    async def _acquire(self, key: str, token: str) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._wait
        delay = FIRST_POLL_SECONDS
        while True:
            with unavailable(self._what):
                if await self._client.set(key, token, nx=True, px=self._ttl_ms):
                    return
            # Polling with jittered backoff: replicas share no channel to be woken by, and a
            # turn lasts seconds, so a few polls per second cost nothing.
            pause = delay * random.uniform(0.5, 1.5)  # jitter, not a secret
            if loop.time() + pause > deadline:
                raise Busy(BUSY_DETAIL)
            await asyncio.sleep(pause)
            delay = min(delay * 2, MAX_POLL_SECONDS)

    async def _keep(self, key: str, token: str) -> None:
        while True:
            await asyncio.sleep(self._ttl_ms / 3000)
            try:
                if not await self._extend(keys=[key], args=[token, self._ttl_ms]):
                    log.warning("a conversation lock expired while its turn was still running")
                    return
            except Exception as exc:  # a failed extension must not kill the turn
                log.warning("could not extend a conversation lock: %s", describe(exc))

    async def _give_back(self, key: str, token: str) -> None:
        try:
            await self._release(keys=[key], args=[token])
        except Exception as exc:  # the lock expires by itself; the turn is done
            log.warning("could not release a conversation lock: %s", describe(exc))
