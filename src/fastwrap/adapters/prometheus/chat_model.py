"""Model-call latency and tokens, by model: a wrapper around whichever ChatModel is configured."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Sequence

from prometheus_client import CollectorRegistry, Counter, Histogram

from fastwrap.domain.errors import DomainError
from fastwrap.domain.model import (
    NO_OPTIONS,
    Caller,
    ChatDelta,
    ChatReply,
    ModelOptions,
    PromptMessage,
    Usage,
)
from fastwrap.ports.llm import ChatModel

MODEL_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0, 60.0, 120.0)


class ModelCallMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.duration = Histogram(
            "fastwrap_model_call_duration_seconds",
            "Time of one model call, to its last streamed piece",
            ["model", "mode", "outcome"],
            buckets=MODEL_BUCKETS,
            registry=registry,
        )
        self.tokens = Counter(
            "fastwrap_model_tokens",
            "Tokens the provider reported, by direction",
            ["model", "direction"],
            registry=registry,
        )


def outcome_of(exc: BaseException) -> str:
    """A bounded label: the domain error's code (UpstreamError, UpstreamTimeout), or a kind."""
    if isinstance(exc, DomainError):
        return exc.code
    if isinstance(exc, GeneratorExit | TimeoutError) or type(exc).__name__ == "CancelledError":
        return "cancelled"
    return "error"


class MeteredChatModel(ChatModel):
    """Times every call and counts the tokens it used; the inner model does the work."""

    def __init__(self, inner: ChatModel, model: str, metrics: ModelCallMetrics) -> None:
        self._inner = inner
        self._model = model
        self._metrics = metrics
        self._input = metrics.tokens.labels(model, "input")
        self._output = metrics.tokens.labels(model, "output")
        self._durations: dict[tuple[str, str], Histogram] = {}  # labels() resolved once each

    def _observe(self, mode: str, outcome: str, started: float, usage: Usage | None) -> None:
        elapsed = time.perf_counter() - started
        duration = self._durations.get((mode, outcome))
        if duration is None:
            duration = self._metrics.duration.labels(self._model, mode, outcome)
            self._durations[(mode, outcome)] = duration
        duration.observe(elapsed)
        if usage is not None:
            self._input.inc(usage.input_tokens or 0)
            self._output.inc(usage.output_tokens or 0)

    async def reply(
        self,
        messages: Sequence[PromptMessage],
        options: ModelOptions = NO_OPTIONS,
        caller: Caller | None = None,
    ) -> ChatReply:
        started = time.perf_counter()
        try:
            reply = await self._inner.reply(messages, options, caller)
        except BaseException as exc:
            self._observe("reply", outcome_of(exc), started, None)
            raise
        self._observe("reply", "ok", started, reply.usage)
        return reply

    async def stream(
        self,
        messages: Sequence[PromptMessage],
        options: ModelOptions = NO_OPTIONS,
        caller: Caller | None = None,
    ) -> AsyncIterator[ChatDelta]:
        started = time.perf_counter()
        usage: Usage | None = None
        try:
            async for delta in self._inner.stream(messages, options, caller):
                usage = delta.usage or usage
                yield delta
        except BaseException as exc:
            self._observe("stream", outcome_of(exc), started, usage)
            raise
        self._observe("stream", "ok", started, usage)

    async def aclose(self) -> None:
        await self._inner.aclose()
