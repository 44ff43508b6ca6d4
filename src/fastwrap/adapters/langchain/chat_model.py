"""Any LangChain chat model behind the ChatModel port (async calls only)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

from langchain_core.globals import get_llm_cache
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

from fastwrap.adapters.langchain.provider_errors import provider_error
from fastwrap.domain.model import ChatDelta, ChatReply, PromptMessage, Usage
from fastwrap.ports.llm import ChatModel

if TYPE_CHECKING:
    from fastwrap.adapters.langchain.openai_body import PlainReply

_MESSAGE_TYPES: dict[str, type[BaseMessage]] = {
    "system": SystemMessage,
    "user": HumanMessage,
    "assistant": AIMessage,
}


def to_langchain(messages: Sequence[PromptMessage]) -> list[BaseMessage]:
    return [_MESSAGE_TYPES[m.role](content=m.content) for m in messages]


# `MessagesInBodyChatOpenAI.acomplete_plain` (typed only: langchain-openai is not imported here).
type PlainCompletion = Callable[[Sequence[tuple[str, str]]], Awaitable[PlainReply | None]]


def _usage(metadata: Any) -> Usage | None:
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


def _nothing_to_run_around(model: BaseChatModel) -> bool:
    """True when `ainvoke` would only do bookkeeping around the model's `_agenerate`.

    `ainvoke` configures a callback manager, reports the run's start and end, consults the LLM
    cache and the rate limiter and may switch to streaming: about 0.3-0.4 ms of CPU per call,
    spent on nothing when none of these is configured (FastWrap configures none but tracing).
    """
    return (
        not model.callbacks
        and model.cache in (None, False)
        and model.rate_limiter is None
        and not getattr(model, "streaming", False)
    )


class LangChainChatModel(ChatModel):
    """Wraps one shared LangChain chat model.

    `timeout` bounds a whole reply, and for a stream the wait for each next piece (a long answer
    that keeps coming is not cut off). The wrapped model's own client does the bounded retries.
    `secrets` (the provider key) are scrubbed from any error message.

    With `traced` false and nothing else hooked into the model (no callbacks, cache, rate
    limiter or streaming), a reply calls the model's `_agenerate` (the hook every LangChain chat
    model implements, which `ainvoke` ends in) and skips the run bookkeeping, or, on a model
    that offers it (our ChatOpenAI), `acomplete_plain`, which sends the same request without
    LangChain message objects; with tracing on, or anything hooked in, it goes through
    `ainvoke`. Streams always go through `astream`.
    """

    def __init__(
        self,
        model: BaseChatModel,
        *,
        timeout: float,
        secrets: Sequence[str] = (),
        close: Callable[[], Awaitable[None]] | None = None,
        traced: bool = False,
    ) -> None:
        self._model = model
        self._direct = not traced and _nothing_to_run_around(model)
        # A model that can complete plain string messages without LangChain message objects.
        self._plain: PlainCompletion | None = getattr(model, "acomplete_plain", None)
        self._timeout = timeout
        self._secrets = tuple(secrets)
        self._close = close

    async def aclose(self) -> None:
        """Release the HTTP connections this adapter owns (none if the model brought its own)."""
        if self._close is not None:
            await self._close()

    async def reply(self, messages: Sequence[PromptMessage]) -> ChatReply:
        try:
            async with asyncio.timeout(self._timeout):
                return await self._reply(messages)
        except Exception as exc:  # CancelledError is a BaseException and passes through
            raise self._error(exc) from exc

    async def _reply(self, messages: Sequence[PromptMessage]) -> ChatReply:
        direct = self._direct and get_llm_cache() is None
        if direct and self._plain is not None:
            plain = await self._plain([(m.role, m.content) for m in messages])
            if plain is not None:
                usage = Usage(input_tokens=plain.input_tokens, output_tokens=plain.output_tokens)
                return ChatReply(content=plain.text, usage=usage)
        if direct:
            result = await self._model._agenerate(to_langchain(messages))
            message = result.generations[0].message
        else:
            message = await self._model.ainvoke(to_langchain(messages))
        usage = _usage(getattr(message, "usage_metadata", None)) or Usage()
        return ChatReply(content=str(message.text), usage=usage)

    async def stream(self, messages: Sequence[PromptMessage]) -> AsyncIterator[ChatDelta]:
        chunks = aiter(self._model.astream(to_langchain(messages)))
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
                more = _usage(getattr(chunk, "usage_metadata", None))
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
