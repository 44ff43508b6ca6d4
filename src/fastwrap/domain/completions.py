"""A stateless turn (SPEC §12, `/v1/chat/completions` without a conversation): its request,
its rules, and how a model's stream is passed on (shared with the stored turn)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from uuid import UUID

from fastwrap.domain.errors import Invalid
from fastwrap.domain.model import (
    NO_OPTIONS,
    Caller,
    Character,
    ChatDelta,
    ChatReply,
    ModelOptions,
    PromptMessage,
    SearchHit,
    Usage,
)

MAX_CONTENT = 32_000

MAX_CALLER_MESSAGES = 1_000


@dataclass(frozen=True, slots=True, kw_only=True)
class CompletionRequest:
    """A stateless turn (SPEC §12): the caller sends the whole conversation, which the model
    receives after the character's prompt and knowledge; nothing is stored. `end_user`,
    `options` and `key_id` mean what they mean in a TurnRequest."""

    character_id: UUID
    messages: tuple[PromptMessage, ...]
    end_user: str | None = None
    options: ModelOptions = NO_OPTIONS
    key_id: UUID | None = None

    def caller(self, character: Character) -> Caller:
        return Caller.of(character, key_id=self.key_id, end_user=self.end_user)


@dataclass(frozen=True, slots=True, kw_only=True)
class CompletionResult:
    character_id: UUID
    reply: ChatReply
    sources: tuple[SearchHit, ...]


async def relay(deltas: AsyncIterator[ChatDelta]) -> AsyncIterator[ChatDelta | ChatReply]:
    """A model's stream as a turn passes it on: the deltas with content, then the whole reply
    (with the usage the provider reported, on whichever delta it came)."""
    parts: list[str] = []
    usage = Usage()
    async for delta in deltas:
        parts.append(delta.content)
        usage = delta.usage or usage
        if delta.content:
            yield delta
    yield ChatReply(content="".join(parts), usage=usage)


def last_user_content(messages: Sequence[PromptMessage]) -> str | None:
    return next((m.content for m in reversed(messages) if m.role == "user"), None)


def check_caller_messages(messages: Sequence[PromptMessage]) -> str:
    """The caller's messages of a stateless turn; returns the last user message's content (what
    knowledge is searched with)."""
    if not 1 <= len(messages) <= MAX_CALLER_MESSAGES:
        raise Invalid(f"messages must hold 1-{MAX_CALLER_MESSAGES} messages")
    if any(len(m.content) > MAX_CONTENT for m in messages):
        raise Invalid(f"each message's content must be at most {MAX_CONTENT} characters")
    content = last_user_content(messages)
    if not content:
        raise Invalid("messages must include a user message with content")
    return content


async def completion_events(
    character_id: UUID, hits: tuple[SearchHit, ...], calling: AsyncIterator[ChatDelta]
) -> AsyncIterator[ChatDelta | CompletionResult]:
    """A stateless turn's stream: the model's deltas, then the CompletionResult."""
    async for event in relay(calling):
        if isinstance(event, ChatDelta):
            yield event
        else:
            yield CompletionResult(character_id=character_id, reply=event, sources=hits)
