"""`last_used_at` of named keys, kept without a write per request.

Authentication only notes the use in memory (no I/O on the request path); a background loop
writes what was noted every few seconds, in one statement, and at shutdown. A key is noted at
most once a minute per process, and the store moves `last_used_at` only when it moves by a
minute, so however many replicas use a key, its row is written about once a minute. It is
telemetry: a crash loses at most the last few seconds of it, which is why no outbox is needed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Protocol
from uuid import UUID

from fastwrap.domain.background import in_background
from fastwrap.domain.errors import DomainError

COALESCE = timedelta(minutes=1)
FLUSH_EVERY = 5.0
log = logging.getLogger("fastwrap.keys")


class UsageSink(Protocol):
    async def touch(self, used: dict[UUID, datetime]) -> None: ...


class KeyUsage:
    def __init__(self, sink: UsageSink, *, flush_every: float = FLUSH_EVERY) -> None:
        self._sink = sink
        self._flush_every = flush_every
        self._pending: dict[UUID, datetime] = {}
        self._noted: dict[UUID, datetime] = {}  # the last use noted per key, for a minute

    def note(self, key_id: UUID, at: datetime) -> None:
        """A use of `key_id` at `at`; costs a dictionary lookup."""
        last = self._noted.get(key_id)
        if last is not None and at - last < COALESCE:
            return
        self._noted[key_id] = at
        self._pending[key_id] = at

    async def flush(self) -> None:
        """Write what was noted since the last flush (one store call, or none)."""
        pending, self._pending = self._pending, {}
        if pending:
            try:
                await self._sink.touch(pending)
            except DomainError as exc:  # the database is down: the next use notes it again
                log.warning("could not record key use (%s)", exc.detail)
                for key_id in pending:
                    self._noted.pop(key_id, None)
        if self._noted:
            newest = max(self._noted.values())
            self._noted = {k: at for k, at in self._noted.items() if newest - at < COALESCE}

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self._flush_every)
            await self.flush()

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Flush in the background for the duration, and once more at the end."""
        try:
            async with in_background(self._loop, "fastwrap-key-usage"):
                yield
        finally:
            await self.flush()
