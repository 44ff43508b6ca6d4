"""Group commit for the usage ledger (group_commit.py), and answers that wait for it.

A call's record is written before its turn is acknowledged (a 201 means its usage is stored,
SPEC §13), but calls do not each pay a write: with one call at a time that is one round trip
per call; under load, one per batch, so the ledger's cost per call falls as the load rises.

An answer that stores something after the call (a chat turn: its Redis commit) need not wait
for the record before storing: inside `Acknowledging`, the call returns as soon as its record
is queued, and the answer awaits the record (`settle`) after it stored, before it acknowledges.
The write then overlaps the store instead of following it (one round trip less, end to end).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from contextvars import ContextVar, Token
from types import TracebackType

from fastwrap.domain.group_commit import MAX_BATCH, GroupCommit
from fastwrap.domain.usage import UsageRecord
from fastwrap.ports.usage import UsageLedger

__all__ = ["MAX_BATCH", "Acknowledging", "UsageRecorder", "acknowledging"]

log = logging.getLogger("fastwrap.usage")


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


class UsageRecorder(GroupCommit[UsageRecord]):
    def __init__(self, ledger: UsageLedger, *, max_batch: int = MAX_BATCH) -> None:
        super().__init__(ledger.record, what="usage records", log=log, max_batch=max_batch)
