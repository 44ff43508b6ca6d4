"""Group commit for the usage ledger: concurrent calls' records share one write.

A call's record is written before its turn is acknowledged (a 201 means its usage is stored,
SPEC §13), but calls do not each pay a write: records that arrive while a write is under way
wait for the next one, which takes all of them (up to `max_batch`) in one INSERT. With one call
at a time that is one round trip per call; under load, one per batch, so the ledger's cost per
call falls as the load rises. No timer: a record never waits for company, only for the write
ahead of it.

An answer that stores something after the call (a chat turn: its Redis commit) need not wait
for the record before storing: inside `Acknowledging`, the call returns as soon as its record
is queued, and the answer awaits the record (`settle`) after it stored, before it acknowledges.
The write then overlaps the store instead of following it (one round trip less, end to end).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Sequence
from contextvars import ContextVar, Token
from types import TracebackType

from fastwrap.domain.usage import UsageRecord
from fastwrap.ports.usage import UsageLedger

log = logging.getLogger("fastwrap.usage")
MAX_BATCH = 500


class Acknowledging:
    """`async with Acknowledging():` around what an answer waits for; the records of the calls
    made inside are awaited on the way out, so the answer is given only once they are durable.

    On the way out after an error, they are awaited too (a call that answered is recorded and
    charged whatever happened next), and the error is the one raised; cancelled, they are not
    (their writes go on; only the wait is given up, as in `UsageRecorder.record`).
    """

    __slots__ = ("_pending", "_token")

    def __init__(self) -> None:
        self._pending: list[Awaitable[None]] | None = None
        self._token: Token[Acknowledging | None] | None = None

    async def __aenter__(self) -> Acknowledging:
        self._pending = []
        self._token = _ACKNOWLEDGING.set(self)
        return self

    def defer(self, settled: Awaitable[None]) -> bool:
        """Have the way out await `settled`; False once the block was left (await it now)."""
        if self._pending is None:
            return False
        self._pending.append(settled)
        return True

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        pending, self._pending = self._pending or [], None
        if self._token is not None:
            _ACKNOWLEDGING.reset(self._token)
        if isinstance(exc, asyncio.CancelledError):
            for settled in pending:
                _abandon(settled)
            return
        failure: Exception | None = None
        for n, settled in enumerate(pending):
            try:
                await settled
            except Exception as failed:
                if exc is not None:  # the answer fails already, with its own error
                    log.warning("usage record not stored: %s", failed)
                failure = failure or failed
            except BaseException:  # cancelled while waiting: give up the other waits too
                for rest in pending[n + 1 :]:
                    _abandon(rest)
                raise
        if exc is None and failure is not None:
            raise failure  # the first record that failed fails the answer


def acknowledging() -> Acknowledging | None:
    """The block the current answer's calls may defer their records to, if any."""
    return _ACKNOWLEDGING.get()


def _abandon(settled: Awaitable[None]) -> None:
    if isinstance(settled, asyncio.Future):
        settled.add_done_callback(_retrieved)
    elif hasattr(settled, "close"):
        settled.close()  # a coroutine never started


def _retrieved(done: asyncio.Future[None]) -> None:
    if not done.cancelled():
        done.exception()  # seen: no "exception was never retrieved" at collection


_ACKNOWLEDGING: ContextVar[Acknowledging | None] = ContextVar(
    "fastwrap_acknowledging", default=None
)


class UsageRecorder:
    def __init__(self, ledger: UsageLedger, *, max_batch: int = MAX_BATCH) -> None:
        self._ledger = ledger
        self._max_batch = max_batch
        self._pending: list[tuple[UsageRecord, asyncio.Future[None] | None]] = []
        self._writer: asyncio.Task[None] | None = None

    async def record(self, record: UsageRecord) -> None:
        """Return once `record` is durable; raise what the ledger raised if it could not be."""
        # A caller that goes away cancels only its wait: the record stays in its batch.
        await self.queue(record)

    def queue(self, record: UsageRecord) -> asyncio.Future[None]:
        """Write `record` with the next batch; the future is done once it is durable (or
        carries what the ledger raised)."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._enqueue(record, done)
        return done

    def submit(self, record: UsageRecord) -> None:
        """Write `record` with the next batch without waiting (a call nobody will see answered,
        e.g. one cancelled mid-stream); a failure is logged."""
        self._enqueue(record, None)

    def _enqueue(self, record: UsageRecord, done: asyncio.Future[None] | None) -> None:
        self._pending.append((record, done))
        if self._writer is None:
            self._writer = asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        try:
            while self._pending:
                batch = self._pending[: self._max_batch]
                del self._pending[: self._max_batch]
                await self._write(batch)
        finally:
            self._writer = None

    async def _write(
        self, batch: Sequence[tuple[UsageRecord, asyncio.Future[None] | None]]
    ) -> None:
        try:
            await self._ledger.record([record for record, _ in batch])
        except Exception as exc:
            if any(done is None for _, done in batch):
                log.warning("usage records not stored: %s", exc)
            for _, done in batch:
                if done is not None and not done.done():
                    done.set_exception(exc)
            return
        for _, done in batch:
            if done is not None and not done.done():
                done.set_result(None)

    async def aclose(self) -> None:
        """Wait for the records still pending (at shutdown)."""
        while self._writer is not None:
            await asyncio.shield(self._writer)
