"""The database's change notices (migration 0003), for the caches of this process.

One dedicated connection LISTENs on `fastwrap_changes`. While it is known to be listening the
feed is `fresh` and caches may serve from memory; the moment it is lost (the server restarted,
the connection was killed, pings go unanswered) every cache is dropped and bypassed until the
connection is back, so a change that was announced while nobody listened is never missed.

Three rules keep a revoked key from being served by any replica once its revocation returns:

- **The writer's own caches.** `writing(tenant)` evicts the tenant before and after the write,
  and nothing of that tenant is cached while the write is in flight, so no answer read before
  the commit can be kept after it. `generation` counts notices, losses and local writes: a
  cache keeps an answer only if it did not move while the answer was read.
- **The other replicas.** After a key-revoking write commits, `settle()` sends a sync notice and
  waits until every other listening FastWrap process has answered it. PostgreSQL delivers
  notices to each listener in commit order, and a process evicts as it reads a notice, so an
  answer to the sync means that process has dropped the changed row.
- **A lease.** A process serves from its cache only within `LEASE` seconds of a ping it sent
  whose answer came back (PostgreSQL hands a listening session its pending notices before it
  answers a query, so every change committed before that ping was seen). A process cut off from
  the database therefore stops serving cached rows within `LEASE`, and `settle()` never waits
  longer than that for one that does not answer.

At start the feed sends itself a probe notice and only goes live once it arrives: behind a
pooler that does not pass notices on (PgBouncer in transaction mode), caching stays off.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Callable, Iterator
from typing import Any
from uuid import UUID

import asyncpg

log = logging.getLogger("fastwrap.postgres")

CHANNEL = "fastwrap_changes"
APPLICATION = "fastwrap-changes"  # how the listening connection shows in pg_stat_activity
EVERYTHING = "*"
PROBE_PREFIX = "probe:"
SYNC_PREFIX = "sync:"
ACK_PREFIX = "ack:"
PROBE_TIMEOUT = 2.0
LEASE = 1.0
PING_EVERY = 0.25
PING_TIMEOUT = 2.0
RETRY_EVERY = 1.0
NOTIFY = "SELECT pg_notify($1, $2)"
# The sync notice, and who must answer it: every other listening FastWrap process.
SYNC = """
SELECT pg_notify($1, $2), ARRAY(
    SELECT pid FROM pg_stat_activity
    WHERE application_name = $3 AND datname = current_database() AND pid <> pg_backend_pid()
)
"""

type Evict = Callable[[UUID | None], None]  # a tenant's entries, or (None) everything


class ChangeFeed:
    def __init__(self, dsn: str) -> None:
        self._dsn = dsn
        self._conn: asyncpg.Connection | None = None
        self._busy = asyncio.Lock()  # one query at a time on the listening connection
        self._listeners: list[Evict] = []
        self._probe: tuple[str, asyncio.Future[None]] | None = None
        self._syncs: dict[str, _Sync] = {}
        self._acks: set[asyncio.Task[None]] = set()
        self._writing: dict[UUID, int] = {}
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self.confirmed_at = -LEASE  # when the last answered ping was sent (monotonic)
        self.generation = 0
        self.live = False

    @property
    def fresh(self) -> bool:
        """Whether caches may serve from memory: listening, and confirmed within the lease."""
        return self.live and time.monotonic() - self.confirmed_at < LEASE

    def subscribe(self, evict: Evict) -> None:
        self._listeners.append(evict)

    def changed(self, client_id: UUID | None) -> None:
        """Forget what is cached about `client_id` (None: everything), here and now."""
        self.generation += 1
        for evict in self._listeners:
            evict(client_id)

    @contextlib.contextmanager
    def writing(self, client_id: UUID) -> Iterator[None]:
        """Around a write of `client_id`'s rows: evicted before and after, cached nowhere
        in between (even if the outcome is unknown, as with a dropped connection)."""
        self._writing[client_id] = self._writing.get(client_id, 0) + 1
        self.changed(client_id)
        try:
            yield
        finally:
            left = self._writing.pop(client_id) - 1
            if left:
                self._writing[client_id] = left
            self.changed(client_id)

    def is_writing(self, client_id: UUID) -> bool:
        return client_id in self._writing

    async def settle(self) -> None:
        """Return once every other listening process has seen every change committed so far,
        or after LEASE (a process that has not answered by then no longer serves its cache)."""
        conn = self._conn
        if not self.live or conn is None:
            return  # caches here are off; other processes evict as their notices arrive
        token = secrets.token_hex(8)
        sync = self._syncs[token] = _Sync()
        try:
            async with asyncio.timeout(LEASE):
                async with self._busy:
                    row = await conn.fetchrow(SYNC, CHANNEL, SYNC_PREFIX + token, APPLICATION)
                await sync.answered_by(set(row[1]) if row is not None else set())
        except TimeoutError:
            log.warning(
                "not every FastWrap process confirmed a change within %.1fs; those that did "
                "not have stopped serving cached keys by now",
                LEASE,
            )
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            pass  # the connection was lost: caches here are off, the lease covers the rest
        finally:
            del self._syncs[token]

    async def start(self) -> None:
        """Listen now if the database lets us; otherwise keep trying in the background."""
        await self._connect()
        self._task = asyncio.create_task(self._watch(), name="fastwrap-change-feed")

    async def close(self) -> None:
        for task in [self._task, *self._acks]:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
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
            sent = time.monotonic()
            async with asyncio.timeout(PROBE_TIMEOUT):
                async with self._busy:
                    await conn.execute(NOTIFY, CHANNEL, token)
                await arrived
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
        self.confirmed_at = sent
        self.live = True
        return True

    def _notice(self, conn: Any, pid: int, _channel: str, payload: object) -> None:
        payload = str(payload)
        if payload.startswith((PROBE_PREFIX, SYNC_PREFIX, ACK_PREFIX)):
            self._control(conn, pid, payload)
            return
        try:
            client_id = None if payload == EVERYTHING else UUID(payload)
        except ValueError:
            client_id = None  # not ours to understand: drop everything, to be safe
        self.changed(client_id)

    def _control(self, conn: Any, pid: int, payload: str) -> None:
        """Probes (ours at start-up; others' are ignored), syncs to answer, answers to ours."""
        if self._probe is not None and payload == self._probe[0]:
            if not self._probe[1].done():
                self._probe[1].set_result(None)
        elif payload.startswith(SYNC_PREFIX) and pid != conn.get_server_pid():
            # Every notice before this sync has been read (and evicted): say so.
            token = payload[len(SYNC_PREFIX) :]
            answer = asyncio.create_task(self._answer(conn, ACK_PREFIX + token))
            self._acks.add(answer)
            answer.add_done_callback(self._acks.discard)
        elif payload.startswith(ACK_PREFIX):
            sync = self._syncs.get(payload[len(ACK_PREFIX) :])
            if sync is not None:
                sync.answer(pid)

    async def _answer(self, conn: asyncpg.Connection, payload: str) -> None:
        # On the connection the sync came by, even while starting: an answer costs nothing.
        with contextlib.suppress(
            OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError
        ):
            async with asyncio.timeout(PING_TIMEOUT), self._busy:  # every holder is bounded
                await conn.execute(NOTIFY, CHANNEL, payload)

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
        """Ping the listening connection (which renews the lease); reconnect once it is gone."""
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

    async def _answers(self, conn: asyncpg.Connection) -> bool:
        sent = time.monotonic()
        try:
            async with asyncio.timeout(PING_TIMEOUT), self._busy:
                await conn.fetchval("SELECT 1")
        except Exception:  # any failure means the notices may not be arriving
            return False
        self.confirmed_at = max(self.confirmed_at, sent)
        return True


class _Sync:
    """The processes that answered one sync notice, and a way to wait for all of them."""

    def __init__(self) -> None:
        self._answered: set[int] = set()
        self._wanted: set[int] | None = None
        self._complete = asyncio.Event()

    def answer(self, pid: int) -> None:
        self._answered.add(pid)
        self._check()

    async def answered_by(self, pids: set[int]) -> None:
        self._wanted = pids
        self._check()
        await self._complete.wait()

    def _check(self) -> None:
        if self._wanted is not None and self._wanted <= self._answered:
            self._complete.set()
