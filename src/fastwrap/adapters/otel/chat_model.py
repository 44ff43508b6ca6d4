"""A span per model call, in the GenAI semantic conventions, around whichever ChatModel is set.

Message content goes on the span only when OTEL_CAPTURE_CONTENT=true (`capture_content`), as
`gen_ai.input.messages` / `gen_ai.output.messages`; by default the span holds the model, the
token counts and the outcome, nothing a user wrote.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence

from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer

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


def _messages_json(messages: Sequence[tuple[str, str]]) -> str:
    return json.dumps(
        [{"role": role, "parts": [{"type": "text", "content": text}]} for role, text in messages]
    )


class TracedChatModel(ChatModel):
    def __init__(self, inner: ChatModel, label: str, tracer: Tracer, capture_content: bool) -> None:
        provider, _, model = label.partition(":")  # "openai:gpt-4o-mini", or "offline"
        self._inner = inner
        self._tracer = tracer
        self._capture = capture_content
        self._name = f"chat {model or provider}"
        self._attributes = {
            "gen_ai.operation.name": "chat",
            "gen_ai.system": provider,
            "gen_ai.provider.name": provider,
            "gen_ai.request.model": model or provider,
        }

    def _start(self, messages: Sequence[PromptMessage]) -> Span:
        # Not made current: the call has no child spans, and an async generator that attached
        # a context at one yield could be closed in another task.
        span = self._tracer.start_span(
            self._name, kind=SpanKind.CLIENT, attributes=self._attributes
        )
        if self._capture:
            pairs = [(m.role, m.content) for m in messages]
            span.set_attribute("gen_ai.input.messages", _messages_json(pairs))
        return span

    def _finish(self, span: Span, text: str, usage: Usage | None) -> None:
        if usage is not None and usage.input_tokens is not None:
            span.set_attribute("gen_ai.usage.input_tokens", usage.input_tokens)
        if usage is not None and usage.output_tokens is not None:
            span.set_attribute("gen_ai.usage.output_tokens", usage.output_tokens)
        if self._capture:
            span.set_attribute("gen_ai.output.messages", _messages_json([("assistant", text)]))
        span.end()

    @staticmethod
    def _fail(span: Span, exc: BaseException) -> None:
        # The code, not the message: a provider's error text may quote the prompt.
        kind = exc.code if isinstance(exc, DomainError) else type(exc).__qualname__
        span.set_attribute("error.type", kind)
        span.set_status(Status(StatusCode.ERROR, kind))
        span.end()

    async def reply(
        self,
        messages: Sequence[PromptMessage],
        options: ModelOptions = NO_OPTIONS,
        caller: Caller | None = None,
    ) -> ChatReply:
        span = self._start(messages)
        try:
            reply = await self._inner.reply(messages, options, caller)
        except BaseException as exc:
            self._fail(span, exc)
            raise
        self._finish(span, reply.content, reply.usage)
        return reply

    async def stream(
        self,
        messages: Sequence[PromptMessage],
        options: ModelOptions = NO_OPTIONS,
        caller: Caller | None = None,
    ) -> AsyncIterator[ChatDelta]:
        span = self._start(messages)
        parts: list[str] = []
        usage: Usage | None = None
        try:
            async for delta in self._inner.stream(messages, options, caller):
                usage = delta.usage or usage
                if self._capture:
                    parts.append(delta.content)
                yield delta
        except BaseException as exc:
            self._fail(span, exc)
            raise
        self._finish(span, "".join(parts), usage)

    async def aclose(self) -> None:
        await self._inner.aclose()
