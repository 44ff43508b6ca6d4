"""A per-conversation lock in Redis, shared by every replica.

A random token marks the holder. Taking the lock is a SET-if-free inside the conversation store's
own script, so the first try rides in the same round trip as the history read; giving it back
compares the token before the DEL (alone, or inside the commit script), so a holder whose lock
already expired can never release someone else's. The lock expires by itself after `ttl` so a
crashed holder cannot block a conversation forever; while the holder lives, a watchdog extends
it every ttl/3 so a long (streamed) turn keeps it.
"""

from __future__ import annotations

import asyncio
import logging
import random
import secrets
from collections.abc import Awaitable, Callable

from fastwrap.adapters.redis.client import RedisClient, describe
from fastwrap.domain.errors import Busy

log = logging.getLogger("fastwrap.redis")

BUSY_DETAIL = "another turn on this conversation is still running; try again shortly"

# KEYS[1] the lock; ARGV[1] the token. The commit script does the same when it stores a turn.
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


def new_token() -> str:
    return secrets.token_hex(16)


class RedisLock:
    """The timing of the lock: waiting for it, keeping it alive, giving it back."""

    def __init__(
        self, client: RedisClient, *, wait_seconds: float, ttl_seconds: float, what: str
    ) -> None:
        self._wait = wait_seconds
        self.ttl_ms = max(1, round(ttl_seconds * 1000))
        self._what = what
        self._release = client.register_script(RELEASE)
        self._extend = client.register_script(EXTEND)

    async def take[T](
        self, first: Callable[[], Awaitable[T | None]], again: Callable[[], Awaitable[T | None]]
    ) -> T:
        """The result of the first try that got the lock (a try returns None when it is busy).

        Raises Busy once the lock wait is over.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._wait
        delay = FIRST_POLL_SECONDS
        had = await first()
        while had is None:
            # Polling with jittered backoff: replicas share no channel to be woken by, and a
            # turn lasts seconds, so a few polls per second cost nothing.
            pause = delay * random.uniform(0.5, 1.5)  # jitter, not a secret
            if loop.time() + pause > deadline:
                raise Busy(BUSY_DETAIL)
            await asyncio.sleep(pause)
            delay = min(delay * 2, MAX_POLL_SECONDS)
            had = await again()
        return had

    def keep(self, key: str, token: str) -> Watchdog:
        """Extend the lock every ttl/3 until the watchdog is stopped."""
        return Watchdog(self, key, token)

    async def give_back(self, key: str, token: str) -> None:
        try:
            await self._release(keys=[key], args=[token])
        except Exception as exc:  # the lock expires by itself; the turn is done
            log.warning("could not release a conversation lock: %s", describe(exc))

    async def extend(self, key: str, token: str) -> bool:
        """False if the lock is no longer ours (it expired, and maybe someone else has it)."""
        return bool(await self._extend(keys=[key], args=[token, self.ttl_ms]))


class Watchdog:
    """A timer, not a task per turn: most turns end before it first fires, and cost nothing."""

    def __init__(self, lock: RedisLock, key: str, token: str) -> None:
        self._lock = lock
        self._key = key
        self._token = token
        self._loop = asyncio.get_running_loop()
        self._period = lock.ttl_ms / 3000
        self._stopped = False
        self._extension: asyncio.Task[None] | None = None
        self._timer = self._loop.call_later(self._period, self._fire)

    def stop(self) -> None:
        # The token makes a late extension after the release a no-op, so no need to wait.
        self._stopped = True
        self._timer.cancel()
        if self._extension is not None:
            self._extension.cancel()

    def _fire(self) -> None:
        self._extension = self._loop.create_task(self._extend())

    async def _extend(self) -> None:
        try:
            if not await self._lock.extend(self._key, self._token):
                log.warning("a conversation lock expired while its turn was still running")
                return
        except Exception as exc:  # a failed extension must not kill the turn
            log.warning("could not extend a conversation lock: %s", describe(exc))
        if not self._stopped:
            self._timer = self._loop.call_later(self._period, self._fire)
