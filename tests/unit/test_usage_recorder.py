"""Group commit (domain/recorder.py): a record is durable when `record` returns, and
concurrent records share writes."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from uuid import uuid4

import pytest

from fastwrap.adapters.memory.usage import InMemoryUsageLedger
from fastwrap.domain.errors import Unavailable
from fastwrap.domain.recorder import Acknowledging, UsageRecorder, acknowledging
from fastwrap.domain.usage import UsageQuery, UsageRecord

CLIENT = uuid4()
DAY = datetime(2026, 3, 10, tzinfo=UTC)


class CountingLedger(InMemoryUsageLedger):
    """The in-memory ledger, counting its writes; `down` makes every write fail."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[int] = []
        self.down = False

    async def record(self, records: Sequence[UsageRecord]) -> None:
        await asyncio.sleep(0)  # a write takes time: others arrive meanwhile
        if self.down:
            raise Unavailable("database unavailable")
        self.writes.append(len(records))
        await super().record(records)


def a_record() -> UsageRecord:
    return UsageRecord(
        id=uuid4(), client_id=CLIENT, key_id=None, character_id=None, end_user=None,
        model="m", input_tokens=1, output_tokens=1, estimated=False, latency_ms=1,
        outcome="ok", created_at=DAY,
    )  # fmt: skip


async def stored(ledger: InMemoryUsageLedger) -> int:
    query = UsageQuery(
        client_id=CLIENT, since=DAY, until=datetime(2026, 3, 11, tzinfo=UTC),
        group_by="day", limit=10,
    )  # fmt: skip
    rows = await ledger.report(query)
    return rows[0].requests if rows else 0


async def test_concurrent_records_share_writes_and_are_stored_when_awaited() -> None:
    ledger = CountingLedger()
    recorder = UsageRecorder(ledger)

    await asyncio.gather(*(recorder.record(a_record()) for _ in range(50)))

    assert await stored(ledger) == 50
    assert sum(ledger.writes) == 50
    assert len(ledger.writes) < 50  # those that came together were written together


async def test_batches_are_bounded() -> None:
    ledger = CountingLedger()
    recorder = UsageRecorder(ledger, max_batch=8)

    await asyncio.gather(*(recorder.record(a_record()) for _ in range(30)))

    assert max(ledger.writes) <= 8
    assert await stored(ledger) == 30


async def test_a_failed_write_fails_its_records_and_the_next_one_writes_again() -> None:
    ledger = CountingLedger()
    recorder = UsageRecorder(ledger)
    ledger.down = True

    with pytest.raises(Unavailable):
        await recorder.record(a_record())

    ledger.down = False
    await recorder.record(a_record())
    assert await stored(ledger) == 1


async def test_submitted_records_are_written_by_shutdown() -> None:
    ledger = CountingLedger()
    recorder = UsageRecorder(ledger)
    for _ in range(5):
        recorder.submit(a_record())

    await recorder.aclose()

    assert await stored(ledger) == 5


async def test_a_caller_that_stops_waiting_still_has_its_record_written() -> None:
    ledger = CountingLedger()
    recorder = UsageRecorder(ledger)
    waiting = asyncio.create_task(recorder.record(a_record()))
    await asyncio.sleep(0)

    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    await recorder.aclose()

    assert await stored(ledger) == 1


async def test_inside_acknowledging_a_record_is_awaited_on_the_way_out() -> None:
    ledger = CountingLedger()
    recorder = UsageRecorder(ledger)
    waits: list[asyncio.Future[None]] = []

    async with Acknowledging() as block:
        done = recorder.queue(a_record())
        assert block.defer(done)
        waits.append(done)
        assert not done.done()  # what the block does meanwhile overlaps the write

    assert waits[0].done()
    assert await stored(ledger) == 1
    assert acknowledging() is None


async def test_a_record_that_fails_fails_the_way_out_of_acknowledging() -> None:
    ledger = CountingLedger()
    recorder = UsageRecorder(ledger)
    ledger.down = True

    with pytest.raises(Unavailable):
        async with Acknowledging() as block:
            block.defer(recorder.queue(a_record()))

    assert await stored(ledger) == 0


async def test_after_an_error_the_records_are_still_awaited_and_the_error_is_kept() -> None:
    ledger = CountingLedger()
    recorder = UsageRecorder(ledger)
    charged: list[str] = []

    async def settle() -> None:
        await recorder.record(a_record())
        charged.append("charged")

    async def failing_answer() -> None:
        async with Acknowledging() as block:
            block.defer(settle())
            raise LookupError("the store failed after the call")

    with pytest.raises(LookupError):
        await failing_answer()

    assert charged == ["charged"]
    assert await stored(ledger) == 1


async def test_a_block_left_refuses_what_comes_later() -> None:
    async with Acknowledging() as block:
        pass
    assert not block.defer(asyncio.get_running_loop().create_future())


async def test_a_cancelled_block_gives_up_only_its_waits() -> None:
    ledger = CountingLedger()
    recorder = UsageRecorder(ledger)
    entered = asyncio.Event()

    async def answer() -> None:
        async with Acknowledging() as block:
            block.defer(recorder.queue(a_record()))
            entered.set()
            await asyncio.Event().wait()  # the client goes away here

    task = asyncio.create_task(answer())
    await entered.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await recorder.aclose()

    assert await stored(ledger) == 1
