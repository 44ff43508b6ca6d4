"""Every model call on someone's account, recorded in the usage ledger and charged to budgets.

`AccountedChatModel` wraps the ChatModel port, so whoever calls the model (a REST turn, a /v1
completion, the CLI, the library) is metered without knowing it. A call that answers is
recorded durably before it returns (group commit, recorder.py), or, inside an answer that
waits for its records (`Acknowledging`, recorder.py), before that answer is given: either way a
turn is acknowledged only after its usage is stored. A failed call is recorded as such,
without waiting; one cancelled midway (the client left) too, with its tokens estimated from
what was sent and received. Calls on no one's account (`caller` None) pass through unrecorded.
A call is admitted against its budgets first (budgets.py: the turn that makes it usually
admitted it already, early).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from uuid import uuid4

from fastwrap.domain.budgets import BudgetGuard
from fastwrap.domain.errors import UpstreamFailed, UpstreamTimeout
from fastwrap.domain.model import (
    NO_OPTIONS,
    Caller,
    ChatDelta,
    ChatReply,
    ModelOptions,
    PromptMessage,
    Usage,
)
from fastwrap.domain.recorder import UsageRecorder, acknowledging
from fastwrap.domain.usage import Outcome, UsageRecord, estimate_tokens
from fastwrap.ports.clock import Clock
from fastwrap.ports.llm import ChatModel


def prompt_tokens(messages: Sequence[PromptMessage]) -> int:
    return sum(estimate_tokens(m.content) for m in messages)


def counted(
    usage: Usage | None, messages: Sequence[PromptMessage], text: str
) -> tuple[int, int, bool]:
    """(input, output, estimated): the provider's counts, or estimates where it gave none."""
    given_in = usage.input_tokens if usage is not None else None
    given_out = usage.output_tokens if usage is not None else None
    estimated = given_in is None or given_out is None
    input_tokens = given_in if given_in is not None else prompt_tokens(messages)
    output_tokens = given_out if given_out is not None else estimate_tokens(text)
    return input_tokens, output_tokens, estimated


def outcome_of(exc: BaseException) -> Outcome | None:
    """How a failed call ended; None for an error that is not the model's (nothing to record)."""
    if isinstance(exc, UpstreamTimeout):
        return "timeout"
    if isinstance(exc, UpstreamFailed):
        return "provider_error"
    if isinstance(exc, GeneratorExit) or type(exc).__name__ == "CancelledError":
        return "cancelled"
    return None


class AccountedChatModel(ChatModel):
    def __init__(
        self,
        inner: ChatModel,
        *,
        recorder: UsageRecorder,
        budgets: BudgetGuard | None,
        clock: Clock,
        default_model: str,
        labels: Mapping[str, str] | None = None,
    ) -> None:
        """`default_model`: the label of the model a call that names none gets; `labels`: the
        label of each model a call may name (a MODELS entry → `provider:model`)."""
        self._inner = inner
        self._labels = dict(labels or {})
        self._recorder = recorder
        self._budgets = budgets
        self._clock = clock
        self._default_model = default_model

    def _record(
        self,
        caller: Caller,
        options: ModelOptions,
        started: float,
        outcome: Outcome,
        tokens: tuple[int, int, bool],
    ) -> UsageRecord:
        return UsageRecord(
            id=uuid4(),
            client_id=caller.client_id,
            key_id=caller.key_id,
            character_id=caller.character_id,
            end_user=caller.end_user,
            model=self._labels.get(options.model, options.model)
            if options.model
            else self._default_model,
            input_tokens=tokens[0],
            output_tokens=tokens[1],
            estimated=tokens[2],
            latency_ms=round((time.perf_counter() - started) * 1000),
            outcome=outcome,
            created_at=self._clock.now(),
        )

    async def _deferred(self, record: UsageRecord, caller: Caller) -> None:
        """Queue the record now; have the answer's block await it (and charge the budgets),
        or await it here when there is no such block."""
        durable = self._recorder.queue(record)
        settled = durable if self._budgets is None else self._charged(durable, record, caller)
        block = acknowledging()
        if block is None or not block.defer(settled):
            await settled

    async def _charged(
        self, durable: asyncio.Future[None], record: UsageRecord, caller: Caller
    ) -> None:
        await durable
        assert self._budgets is not None
        await self._budgets.charge(caller, record.tokens)

    def _failed(
        self,
        exc: BaseException,
        caller: Caller,
        options: ModelOptions,
        started: float,
        tokens: tuple[int, int, bool],
    ) -> None:
        outcome = outcome_of(exc)
        if outcome is not None:
            if outcome != "cancelled":
                tokens = (0, 0, False)  # a provider that failed charges nothing we could count
            self._recorder.submit(self._record(caller, options, started, outcome, tokens))

    async def reply(
        self,
        messages: Sequence[PromptMessage],
        options: ModelOptions = NO_OPTIONS,
        caller: Caller | None = None,
    ) -> ChatReply:
        if caller is None:
            return await self._inner.reply(messages, options, caller)
        if self._budgets is not None:
            await self._budgets.admit_call(caller)
        started = time.perf_counter()
        try:
            reply = await self._inner.reply(messages, options, caller)
        except BaseException as exc:
            self._failed(exc, caller, options, started, (prompt_tokens(messages), 0, True))
            raise
        tokens = counted(reply.usage, messages, reply.content)
        await self._deferred(self._record(caller, options, started, "ok", tokens), caller)
        return reply

    async def stream(
        self,
        messages: Sequence[PromptMessage],
        options: ModelOptions = NO_OPTIONS,
        caller: Caller | None = None,
    ) -> AsyncIterator[ChatDelta]:
        if caller is None:
            async for delta in self._inner.stream(messages, options, caller):
                yield delta
            return
        if self._budgets is not None:
            await self._budgets.admit_call(caller)
        started = time.perf_counter()
        parts: list[str] = []
        usage: Usage | None = None
        try:
            async for delta in self._inner.stream(messages, options, caller):
                parts.append(delta.content)
                usage = delta.usage or usage
                yield delta
        except BaseException as exc:
            sent = (prompt_tokens(messages), estimate_tokens("".join(parts)), True)
            self._failed(exc, caller, options, started, sent)
            raise
        tokens = counted(usage, messages, "".join(parts))
        await self._deferred(self._record(caller, options, started, "ok", tokens), caller)

    async def aclose(self) -> None:
        await self._inner.aclose()  # the recorder is the container's to drain, at shutdown
