"""AccountedChatModel (domain/metering.py): every call on someone's account is in the ledger
with its outcome; calls on no one's account are not."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from fastwrap.adapters.memory.repositories import memory_storage
from fastwrap.adapters.memory.usage import InMemoryBudgetCounter, InMemoryUsageLedger
from fastwrap.domain.budgets import BudgetGuard
from fastwrap.domain.errors import BudgetExceeded, Unavailable, UpstreamFailed, UpstreamTimeout
from fastwrap.domain.metering import AccountedChatModel
from fastwrap.domain.model import Caller, ModelOptions, PromptMessage
from fastwrap.domain.recorder import Acknowledging, UsageRecorder
from fastwrap.domain.updates import ClientUpdate
from fastwrap.domain.usage import UsageQuery, UsageRecord, UsageRow
from tests.contract.seeds import add_client
from tests.support.chat import ScriptedModel
from tests.support.clock import ManualClock

PROMPT = [PromptMessage(role="user", content="Where is the gold?")]


class Meter:
    def __init__(self) -> None:
        self.clock = ManualClock(datetime(2026, 3, 1, tzinfo=UTC))
        self.inner = ScriptedModel(self.clock, thinking=0)
        self.ledger = InMemoryUsageLedger()
        self.recorder = UsageRecorder(self.ledger)
        storage = memory_storage()
        guard = BudgetGuard(
            counter=InMemoryBudgetCounter(self.clock), clients=storage.clients,
            characters=storage.characters, clock=self.clock,
        )  # fmt: skip
        self.model = AccountedChatModel(
            self.inner, recorder=self.recorder, budgets=guard, clock=self.clock,
            default_model="openai:gpt-4o-mini", labels={"big": "openai:gpt-4o"},
        )  # fmt: skip
        self.caller = Caller(client_id=uuid4(), end_user="eve")

    async def rows(self, group_by: str = "model") -> list[UsageRow]:
        await self.recorder.aclose()
        query = UsageQuery(
            client_id=self.caller.client_id, since=self.clock.now() - timedelta(days=1),
            until=self.clock.now() + timedelta(days=1), group_by=group_by,  # type: ignore[arg-type]
            limit=10,
        )  # fmt: skip
        return await self.ledger.report(query)


@pytest.fixture
def meter() -> Meter:
    return Meter()


async def test_answered_calls_are_recorded_with_the_model_used(meter: Meter) -> None:
    await meter.model.reply(PROMPT, caller=meter.caller)
    await meter.model.reply(PROMPT, ModelOptions(model="big"), meter.caller)
    async for _ in meter.model.stream(PROMPT, caller=meter.caller):
        pass

    rows = {r.group: (r.requests, r.input_tokens, r.output_tokens) for r in await meter.rows()}
    # The scripted model reports 7 + 3 for a reply, 7 + 2 (its words) for a stream.
    assert rows == {"openai:gpt-4o-mini": (2, 14, 5), "openai:gpt-4o": (1, 7, 3)}


@pytest.mark.parametrize("error", [UpstreamFailed("down"), UpstreamTimeout("slow")])
async def test_failed_calls_are_recorded_as_failed(meter: Meter, error: Exception) -> None:
    meter.inner.fail(error)  # type: ignore[arg-type]
    with pytest.raises(type(error)):
        await meter.model.reply(PROMPT, caller=meter.caller)
    with pytest.raises(type(error)):
        async for _ in meter.model.stream(PROMPT, caller=meter.caller):
            pass

    [row] = await meter.rows()
    assert (row.requests, row.failed, row.input_tokens, row.output_tokens) == (2, 2, 0, 0)


async def test_a_stream_left_midway_is_cancelled_with_estimated_tokens(meter: Meter) -> None:
    stream = meter.model.stream(PROMPT, caller=meter.caller)
    await anext(stream)
    await stream.aclose()  # the consumer went away

    [row] = await meter.rows()
    assert (row.requests, row.failed, row.estimated) == (1, 1, True)
    assert row.input_tokens == 5  # "Where is the gold?": 18 characters
    assert row.output_tokens > 0


async def test_a_cancelled_reply_is_recorded_too(meter: Meter) -> None:
    meter.inner.thinking = 0
    gate = asyncio.Event()

    async def slow(*args: object, **kwargs: object) -> object:
        await gate.wait()
        raise AssertionError("never answered")

    meter.inner.reply = slow  # type: ignore[method-assign]
    call = asyncio.create_task(meter.model.reply(PROMPT, caller=meter.caller))
    await asyncio.sleep(0)
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call

    [row] = await meter.rows()
    assert (row.requests, row.failed, row.output_tokens, row.estimated) == (1, 1, 0, True)


async def test_calls_on_no_ones_account_are_not_recorded(meter: Meter) -> None:
    await meter.model.reply(PROMPT)
    async for _ in meter.model.stream(PROMPT):
        pass

    assert await meter.rows() == []


class CountingCounter(InMemoryBudgetCounter):
    def __init__(self, clock: ManualClock) -> None:
        super().__init__(clock)
        self.reads = 0

    async def spent(self, windows: Sequence[str]) -> list[int]:
        self.reads += 1
        return await super().spent(windows)


async def test_a_call_no_turn_admitted_is_held_to_its_budgets() -> None:
    clock = ManualClock(datetime(2026, 3, 1, tzinfo=UTC))
    storage = memory_storage()
    client_id = await add_client(storage, clock.now())
    await storage.clients.update(
        client_id, ClientUpdate(updated_at=clock.now(), token_budget_daily=10)
    )
    counter = CountingCounter(clock)
    guard = BudgetGuard(
        counter=counter, clients=storage.clients, characters=storage.characters, clock=clock
    )
    model = AccountedChatModel(
        ScriptedModel(clock, thinking=0), recorder=UsageRecorder(InMemoryUsageLedger()),
        budgets=guard, clock=clock, default_model="m",
    )  # fmt: skip
    caller = Caller(client_id=client_id)

    await model.reply(PROMPT, caller=caller)  # 10 tokens: the budget is spent
    assert counter.reads == 1
    with pytest.raises(BudgetExceeded):
        await model.reply(PROMPT, caller=caller)
    with pytest.raises(BudgetExceeded):
        async for _ in model.stream(PROMPT, caller=caller):
            pass

    # A turn that admitted its caller is not checked twice for its call.
    clock.advance(86_400)
    await guard.admit(caller)
    reads = counter.reads
    await model.reply(PROMPT, caller=caller)
    assert counter.reads == reads


class DownLedger(InMemoryUsageLedger):
    async def record(self, records: Sequence[UsageRecord]) -> None:
        raise Unavailable("database unavailable")


async def test_inside_acknowledging_a_reply_is_recorded_and_charged_on_the_way_out() -> None:
    clock = ManualClock(datetime(2026, 3, 1, tzinfo=UTC))
    storage = memory_storage()
    client_id = await add_client(storage, clock.now())
    await storage.clients.update(
        client_id, ClientUpdate(updated_at=clock.now(), token_budget_daily=10)
    )
    guard = BudgetGuard(
        counter=InMemoryBudgetCounter(clock), clients=storage.clients,
        characters=storage.characters, clock=clock,
    )  # fmt: skip
    ledger = InMemoryUsageLedger()
    model = AccountedChatModel(
        ScriptedModel(clock, thinking=0), recorder=UsageRecorder(ledger), budgets=guard,
        clock=clock, default_model="m",
    )  # fmt: skip
    caller = Caller(client_id=client_id)

    async with Acknowledging():
        await model.reply(PROMPT, caller=caller)  # 10 tokens, charged once the record is stored

    with pytest.raises(BudgetExceeded):
        await model.reply(PROMPT, caller=caller)
    query = UsageQuery(
        client_id=client_id, since=clock.now() - timedelta(days=1),
        until=clock.now() + timedelta(days=1), group_by="model", limit=10,
    )  # fmt: skip
    [row] = await ledger.report(query)
    assert (row.requests, row.input_tokens, row.output_tokens) == (1, 7, 3)


async def test_inside_acknowledging_a_record_that_fails_fails_the_answer_not_the_call() -> None:
    clock = ManualClock(datetime(2026, 3, 1, tzinfo=UTC))
    model = AccountedChatModel(
        ScriptedModel(clock, thinking=0), recorder=UsageRecorder(DownLedger()), budgets=None,
        clock=clock, default_model="m",
    )  # fmt: skip
    answered = []
    with pytest.raises(Unavailable):
        async with Acknowledging():
            answered.append(await model.reply(PROMPT, caller=Caller(client_id=uuid4())))
    assert len(answered) == 1  # the call answered; the way out refused to acknowledge it
    with pytest.raises(Unavailable):  # outside a block, the call itself waits and fails
        await model.reply(PROMPT, caller=Caller(client_id=uuid4()))
