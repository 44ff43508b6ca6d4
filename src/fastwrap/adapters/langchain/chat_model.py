"""Any LangChain chat model behind the ChatModel port (async calls only)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_core.messages.ai import UsageMetadata

from fastwrap.adapters.langchain.provider_errors import provider_error
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

_MESSAGE_TYPES: dict[str, type[BaseMessage]] = {
    "system": SystemMessage,
    "user": HumanMessage,
    "assistant": AIMessage,
}

# A reply made without LangChain's run (openai_chat.PlainCompletion).
type Completion = Callable[[Sequence[PromptMessage], ModelOptions], Awaitable[ChatReply]]


def to_langchain(messages: Sequence[PromptMessage]) -> list[BaseMessage]:
    return [_MESSAGE_TYPES[m.role](content=m.content) for m in messages]


def call_arguments(options: ModelOptions) -> dict[str, Any]:
    """The keyword arguments of `ainvoke`/`astream` that carry `options` (the chat models of
    LangChain's providers take `temperature` and `max_tokens` per call; None leaves the model's
    own setting). `options.model` is not one of them: a router picks the model (one adapter
    per model)."""
    arguments: dict[str, Any] = {}
    if options.temperature is not None:
        arguments["temperature"] = options.temperature
    if options.max_output_tokens is not None:
        arguments["max_tokens"] = options.max_output_tokens
    return arguments


def reply_of(message: BaseMessage) -> ChatReply:
    """The reply a LangChain message carries: its text and the usage the provider reported."""
    metadata = message.usage_metadata if isinstance(message, AIMessage) else None
    return ChatReply(content=str(message.text), usage=_usage(metadata) or Usage())


def _usage(metadata: UsageMetadata | None) -> Usage | None:
    """Usage from a message's `usage_metadata`, or None when the provider reported none."""
    if not metadata:
        return None
    return Usage(
        input_tokens=metadata.get("input_tokens"), output_tokens=metadata.get("output_tokens")
    )


def _add(total: Usage | None, more: Usage | None) -> Usage | None:
    # Some providers report input tokens on the first chunk and output tokens on the last.
    if more is None or total is None:
        return more or total
    return Usage(
        input_tokens=_sum(total.input_tokens, more.input_tokens),
        output_tokens=_sum(total.output_tokens, more.output_tokens),
    )


def _sum(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else a + b


class LangChainChatModel(ChatModel):
    """Wraps one shared LangChain chat model.

    `timeout` bounds a whole reply, and for a stream the wait for each next piece (a long answer
    that keeps coming is not cut off). The wrapped model's own client does the bounded retries.
    `secrets` (the provider key) are scrubbed from any error message.

    A reply goes through the model's `ainvoke` (LangChain's run: callbacks, tracing, caches),
    or through `complete`, a lane for the same model without the run that build_chat_model
    gives when nothing needs it (openai_chat.plain_completion). Streams go through `astream`.
    """

    def __init__(
        self,
        model: BaseChatModel,
        *,
        timeout: float,
        secrets: Sequence[str] = (),
        close: Callable[[], Awaitable[None]] | None = None,
        complete: Completion | None = None,
    ) -> None:
        self._model = model
        self._complete: Completion = complete or self._invoke
        self._timeout = timeout
        self._secrets = tuple(secrets)
        self._close = close

    async def aclose(self) -> None:
        """Release the HTTP connections this adapter owns (none if the model brought its own)."""
        if self._close is not None:
            await self._close()

    async def reply(
        self,
        messages: Sequence[PromptMessage],
        options: ModelOptions = NO_OPTIONS,
        caller: Caller | None = None,
    ) -> ChatReply:
        try:
            async with asyncio.timeout(self._timeout):
                return await self._complete(messages, options)
        except Exception as exc:  # CancelledError is a BaseException and passes through
            raise self._error(exc) from exc

    async def _invoke(self, messages: Sequence[PromptMessage], options: ModelOptions) -> ChatReply:
        sent = to_langchain(messages)
        return reply_of(await self._model.ainvoke(sent, **call_arguments(options)))

    async def stream(
        self,
        messages: Sequence[PromptMessage],
        options: ModelOptions = NO_OPTIONS,
        caller: Caller | None = None,
    ) -> AsyncIterator[ChatDelta]:
        sent = to_langchain(messages)
        chunks = aiter(self._model.astream(sent, **call_arguments(options)))
        usage: Usage | None = None
        try:
            while True:
                try:
                    async with asyncio.timeout(self._timeout):
                        chunk = await anext(chunks)
                except StopAsyncIteration:
                    return
                except Exception as exc:
                    raise self._error(exc) from exc
                more = _usage(chunk.usage_metadata)
                usage = _add(usage, more)
                text = str(chunk.text)
                if text or more:
                    # Outside the try: a consumer that leaves early is not a provider error.
                    yield ChatDelta(content=text, usage=usage if more else None)
        finally:
            # Closing the provider's stream cancels the upstream request when the consumer leaves.
            close = getattr(chunks, "aclose", None)
            if close is not None:
                await close()

    def _error(self, exc: Exception) -> Exception:
        return provider_error(exc, what="model", timeout=self._timeout, secrets=self._secrets)
