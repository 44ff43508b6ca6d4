"""The database's change notices (migration 0003), for the caches of this process.

One dedicated connection LISTENs on `fastwrap_changes`. While it is known to be listening the
feed is `live` and caches may serve from memory; the moment it is lost (the server restarted,
the connection was killed, a ping went unanswered) every cache is dropped and bypassed until
the connection is back, so a change that was announced while nobody listened is never missed.

`generation` counts the notices (and every loss or local change): a cache reads it before it
asks the database and keeps the answer only if it has not moved, so an answer that a change
overtook is never cached.

At start the feed sends itself a probe notice and only goes live once it arrives: behind a
pooler that does not pass notices on (PgBouncer in transaction mode), caching stays off.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Callable
from typing import Any
from uuid import UUID

import asyncpg

log = logging.getLogger("fastwrap.postgres")

CHANNEL = "fastwrap_changes"
APPLICATION = "fastwrap-changes"  # how the listening connection shows in pg_stat_activity
EVERYTHING = "*"
PROBE_PREFIX = "probe:"
PROBE_TIMEOUT = 2.0
PING_EVERY = 5.0
PING_TIMEOUT = 2.0
RETRY_EVERY = 1.0

type Evict = Callable[[UUID | None], None]  # a tenant's entries, or (None) everything


class ChangeFeed:
    def __init__(self, dsn: str) -> None:
        self._dsn = dsn
        self._conn: asyncpg.Connection | None = None
        self._listeners: list[Evict] = []
        self._probe: tuple[str, asyncio.Future[None]] | None = None
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self.generation = 0
        self.live = False

    def subscribe(self, evict: Evict) -> None:
        self._listeners.append(evict)

    def changed(self, client_id: UUID | None) -> None:
        """Forget what is cached about `client_id` (None: everything), here and now."""
        self.generation += 1
        for evict in self._listeners:
            evict(client_id)

    async def start(self) -> None:
        """Listen now if the database lets us; otherwise keep trying in the background."""
        await self._connect()
        self._task = asyncio.create_task(self._watch(), name="fastwrap-change-feed")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._drop_connection()

    async def _connect(self) -> bool:
        conn: asyncpg.Connection | None = None
        try:
            conn = await asyncpg.connect(
                self._dsn, timeout=PROBE_TIMEOUT, server_settings={"application_name": APPLICATION}
            )
            conn.add_termination_listener(self._lost)
            await conn.add_listener(CHANNEL, self._notice)
            token = PROBE_PREFIX + secrets.token_hex(8)
            arrived: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._probe = (token, arrived)
            await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, token)
            await asyncio.wait_for(arrived, PROBE_TIMEOUT)
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            log.warning(
                "database change notices unavailable (%s); key and character lookups go to "
                "the database every time until they are back",
                type(exc).__name__,
            )
            self._probe = None
            if conn is not None:
                conn.terminate()
            return False
        self._probe = None
        self._conn = conn
        self.changed(None)  # nothing cached before now can be trusted
        self.live = True
        return True

    def _notice(self, _conn: Any, _pid: int, _channel: str, payload: object) -> None:
        payload = str(payload)
        if self._probe is not None and payload == self._probe[0]:
            if not self._probe[1].done():
                self._probe[1].set_result(None)
            return
        if payload.startswith(PROBE_PREFIX):
            return  # another process's start-up probe
        try:
            client_id = None if payload == EVERYTHING else UUID(payload)
        except ValueError:
            client_id = None  # not ours to understand: drop everything, to be safe
        self.changed(client_id)

    def _lost(self, _conn: Any) -> None:
        if self.live:
            log.warning("lost the database change notices; caching is off until they are back")
        self.live = False
        self.changed(None)
        self._wake.set()

    async def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        self.live = False
        self.changed(None)
        if conn is not None and not conn.is_closed():
            conn.terminate()

    async def _watch(self) -> None:
        """Ping the listening connection every few seconds; reconnect as soon as it is gone."""
        while True:
            if self.live and self._conn is not None:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), PING_EVERY)
                    continue  # woken: the connection was lost
                if not await self._answers(self._conn):
                    self._lost(self._conn)
                continue
            await self._drop_connection()
            if not await self._connect():
                await asyncio.sleep(RETRY_EVERY)

    @staticmethod
    async def _answers(conn: asyncpg.Connection) -> bool:
        try:
            await asyncio.wait_for(conn.fetchval("SELECT 1"), PING_TIMEOUT)
        except Exception:  # any failure means the notices may not be arriving
            return False
        return True
