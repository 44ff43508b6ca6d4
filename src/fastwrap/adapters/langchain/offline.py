"""The no-key default chat model: deterministic, clearly labelled replies, no network.

It lets `serve` work on a fresh machine and makes the whole chat path testable offline. A reply
shows what the model was given (the character prompt, the turn number, the new message) so that a
developer can see the wiring work before configuring a real model.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

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

OFFLINE_LABEL = "offline"
PROMPT_PREVIEW = 60
ECHO_PREVIEW = 200


def _clip(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3].rstrip() + "..."


def _tokens(text: str) -> int:
    """A rough count (about four characters a token), in the spirit of a provider's report."""
    return max(1, (len(text) + 3) // 4)


def offline_text(messages: Sequence[PromptMessage]) -> str:
    prompt = next((m.content for m in messages if m.role == "system"), "")
    user_turns = sum(1 for m in messages if m.role == "user")
    said = next((m.content for m in reversed(messages) if m.role == "user"), "")
    context = sum(1 for m in messages[1:] if m.role == "system")
    knowledge = f" | {context} knowledge note(s)" if context else ""
    return (
        f"[offline] {_clip(prompt, PROMPT_PREVIEW) or '(no character prompt)'}"
        f" | turn {max(user_turns, 1)}{knowledge} | you said: {_clip(said, ECHO_PREVIEW)}"
    )


class OfflineChatModel(ChatModel):
    """Answers every prompt without a provider; replies start with "[offline]"."""

    async def reply(
        self,
        messages: Sequence[PromptMessage],
        options: ModelOptions = NO_OPTIONS,
        caller: Caller | None = None,
    ) -> ChatReply:
        text = offline_text(messages)
        return ChatReply(content=text, usage=self._usage(messages, text))

    async def stream(
        self,
        messages: Sequence[PromptMessage],
        options: ModelOptions = NO_OPTIONS,
        caller: Caller | None = None,
    ) -> AsyncIterator[ChatDelta]:
        text = offline_text(messages)
        words = text.split(" ")
        for index, word in enumerate(words):
            piece = word if index == 0 else " " + word
            last = index == len(words) - 1
            yield ChatDelta(content=piece, usage=self._usage(messages, text) if last else None)

    async def aclose(self) -> None:
        """Nothing to release; present so every chat adapter can be closed the same way."""

    @staticmethod
    def _usage(messages: Sequence[PromptMessage], text: str) -> Usage:
        return Usage(
            input_tokens=sum(_tokens(m.content) for m in messages),
            output_tokens=_tokens(text),
        )
