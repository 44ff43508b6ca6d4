"""The timing of a conversation's lock in Redis: waiting for it and keeping it alive.

A random token marks the holder; the scripts that take, extend and give the lock back compare it
first (scripts.py), so a holder whose lock already expired can never touch someone else's. The
lock expires by itself after its TTL, so a crashed holder cannot block a conversation forever;
while the holder lives, a watchdog extends it every ttl/3 so a long (streamed) turn keeps it.
"""

from __future__ import annotations

import asyncio
import logging
import random
import secrets

from redis.commands.core import AsyncScript

from fastwrap.adapters.redis.client import describe
from fastwrap.domain.errors import Busy

log = logging.getLogger("fastwrap.redis")

BUSY_DETAIL = "another turn on this conversation is still running; try again shortly"
FIRST_POLL_SECONDS = 0.005
MAX_POLL_SECONDS = 0.05


def new_token() -> str:
    return secrets.token_hex(16)


class Backoff:
    """The pauses between tries for a busy lock, until the wait is over.

    Polling with jittered backoff: replicas share no channel to be woken by, and a turn lasts
    seconds, so a few polls per second cost nothing.
    """

    def __init__(self, wait_seconds: float) -> None:
        self._loop = asyncio.get_running_loop()
        self._deadline = self._loop.time() + wait_seconds
        self._delay = FIRST_POLL_SECONDS

    async def pause(self) -> None:
        """Wait before the next try; raise Busy instead if it would end after the wait."""
        pause = self._delay * random.uniform(0.5, 1.5)  # jitter, not a secret
        if self._loop.time() + pause > self._deadline:
            raise Busy(BUSY_DETAIL)
        await asyncio.sleep(pause)
        self._delay = min(self._delay * 2, MAX_POLL_SECONDS)


class Watchdog:
    """Extends a held lock every ttl/3 until stopped.

    A timer, not a task per turn: most turns end before it first fires, and cost nothing.
    """

    def __init__(self, extend: AsyncScript, key: str, token: str, ttl_ms: int) -> None:
        self._extend_script = extend
        self._key = key
        self._token = token
        self._ttl_ms = ttl_ms
        self._loop = asyncio.get_running_loop()
        self._period = ttl_ms / 3000
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
            if not await self._extend_script(keys=[self._key], args=[self._token, self._ttl_ms]):
                log.warning("a conversation lock expired while its turn was still running")
                return
        except Exception as exc:  # a failed extension must not kill the turn
            log.warning("could not extend a conversation lock: %s", describe(exc))
        if not self._stopped:
            self._timer = self._loop.call_later(self._period, self._fire)
