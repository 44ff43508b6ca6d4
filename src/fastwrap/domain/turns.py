"""A turn's request and result, positions in a conversation, whose turns may continue it,
and the prompt a turn sends."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from contextlib import aclosing
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from fastwrap.domain.completions import MAX_CONTENT, CompletionRequest
from fastwrap.domain.errors import CharacterMismatch, EndUserMismatch, Invalid, NotFound
from fastwrap.domain.memory_items import MemoryHit
from fastwrap.domain.model import (
    NO_OPTIONS,
    Caller,
    Character,
    ChatDelta,
    ChatReply,
    Conversation,
    JsonObject,
    Message,
    ModelOptions,
    PromptMessage,
    SearchHit,
    check_end_user,
)
from fastwrap.ports.conversations import TurnSlot

REPLY_GONE = "response not found or its conversation expired"


@dataclass(frozen=True, slots=True, kw_only=True)
class Position:
    """A reply in a conversation that a later turn continues from: its number and, when it has
    one, the `tag` its details carry, which tells it from a reply that took the same number in a
    conversation deleted since and started again under the same id."""

    seq: int
    tag: str | None = None

    def marks(self, message: Message) -> bool:
        if message.seq != self.seq or message.role != "assistant":
            return False
        return self.tag is None or (message.details or {}).get("tag") == self.tag


@dataclass(frozen=True, slots=True, kw_only=True)
class TurnRequest:
    """One turn. `end_user` is who the tenant's app says is talking (SPEC §13): a conversation
    started for an end user is continued only for that end user (or by the tenant itself,
    naming none). `options` tune this turn's model call; `key_id` is the key the tenant
    authenticated with (None: its primary key, or no key at all), for the usage ledger.

    `instructions` are for this turn only (after the character's prompt, never stored);
    `preceding` are messages sent with the turn before `content`, stored with it. `after`
    continues `conversation_id` from that reply: appended when it is the latest, else the turn
    forks a new conversation holding the history up to it (the original is untouched). With
    `store` false nothing is stored. `details` are kept with the reply.
    """

    character_id: UUID
    content: str
    conversation_id: str | None = None
    end_user: str | None = None
    instructions: str | None = None
    preceding: tuple[PromptMessage, ...] = ()
    after: Position | None = None
    store: bool = True
    details: JsonObject | None = None
    options: ModelOptions = NO_OPTIONS
    key_id: UUID | None = None

    def caller(self, character: Character) -> Caller:
        return Caller.of(character, key_id=self.key_id, end_user=self.end_user)


@dataclass(frozen=True, slots=True, kw_only=True)
class TurnStarted:
    """A stored turn holds its conversation and is about to ask the model: where its reply will
    be (`conversation_id`, `position`: 0 for a turn that stores nothing)."""

    conversation_id: str
    position: int
    forked_from: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class TurnResult:
    """`position` is the reply's number in `conversation_id` (0 when nothing was stored)."""

    conversation_id: str
    character_id: UUID
    reply: ChatReply
    expires_at: datetime
    sources: tuple[SearchHit, ...]
    position: int = 0
    stored: bool = True
    forked_from: str | None = None
    memories: tuple[MemoryHit, ...] = ()  # what the turn recalled (SPEC §15)


type TurnEvents = AsyncGenerator[TurnStarted | ChatDelta | TurnResult]


@dataclass(slots=True, kw_only=True)
class Place:
    """Where a turn goes: the held conversation, the history it starts from when it is a fork
    (`base`, stored with the turn), what the model sees of it, the last number in use, and
    the end user the conversation is bound to (None: none, or a new conversation)."""

    held: TurnSlot | None
    conversation_id: str
    history: list[Message]
    last: int
    base: tuple[Message, ...] = ()
    forked_from: str | None = None
    expires_at: datetime | None = None
    end_user: str | None = None  # whom the conversation is bound to, if anyone


@dataclass(frozen=True, slots=True, kw_only=True)
class HistoryBudget:
    max_messages: int = 50
    max_chars: int = 24_000


def trim_history(messages: Sequence[Message], budget: HistoryBudget) -> list[Message]:
    """The most recent messages that fit both budgets, oldest first, never starting mid-turn."""
    kept: list[Message] = []
    chars = 0
    for message in reversed(messages):
        if len(kept) >= budget.max_messages or chars + len(message.content) > budget.max_chars:
            break
        kept.append(message)
        chars += len(message.content)
    kept.reverse()
    while kept and kept[0].role == "assistant":
        kept.pop(0)  # a reply without the question it answers only confuses the model
    return kept


def knowledge_prompt(hits: Sequence[SearchHit]) -> str:
    lines = ["Relevant knowledge (use it when it helps to answer):"]
    lines += [f"[{h.snippet.entity_type}/{h.snippet.entity_id}] {h.snippet.content}" for h in hits]
    return "\n".join(lines)


def check_binding(conversation: Conversation, character_id: UUID, end_user: str | None) -> None:
    """A turn may continue a conversation of its character, and, when it names an end user,
    only one that end user started (a conversation created empty is bound by its first turn)."""
    if conversation.character_id is None:
        return
    if conversation.character_id != character_id:
        raise CharacterMismatch("conversation_id belongs to another character")
    if end_user is not None and conversation.end_user != end_user:
        raise EndUserMismatch("conversation_id belongs to another end user")


def is_latest(conversation: Conversation | None, after: Position) -> bool:
    """Whether the reply `after` is the conversation's newest message (False: later messages
    exist, or it is gone, which the fork's full read tells); NotFound when the conversation
    never held it. Newest, not numbered last: after the latest response is deleted, the one
    before it is continued in place."""
    if conversation is None or conversation.last_seq < after.seq:
        raise NotFound(REPLY_GONE)
    return bool(conversation.messages) and after.marks(conversation.messages[-1])


def visible_to(conversation: Conversation, end_user: str | None) -> bool:
    """The tenant sees all of its conversations; an end user only its own."""
    return end_user is None or conversation.end_user == end_user


def preamble(
    character: Character,
    hits: Sequence[SearchHit],
    instructions: str | None = None,
    memory: str | None = None,
) -> list[PromptMessage]:
    """What every prompt of the character starts with: its role, this turn's instructions,
    its knowledge, then what it remembers (SPEC §15)."""
    prompt = [PromptMessage(role="system", content=character.agent_role)]
    if instructions:
        prompt.append(PromptMessage(role="system", content=instructions))
    if hits:
        prompt.append(PromptMessage(role="system", content=knowledge_prompt(hits)))
    if memory:
        prompt.append(PromptMessage(role="system", content=memory))
    return prompt


def build_prompt(
    character: Character,
    hits: Sequence[SearchHit],
    history: Sequence[Message],
    content: str,
    *,
    instructions: str | None = None,
    preceding: Sequence[PromptMessage] = (),
    memory: str | None = None,
) -> list[PromptMessage]:
    """The preamble, the history, the messages sent before `content` with it, then `content`."""
    prompt = preamble(character, hits, instructions, memory)
    prompt += [PromptMessage(role=m.role, content=m.content) for m in history]
    prompt += preceding
    prompt.append(PromptMessage(role="user", content=content))
    return prompt


def check_request(request: TurnRequest) -> None:
    for text in (request.content, *(m.content for m in request.preceding)):
        if not 1 <= len(text) <= MAX_CONTENT:
            raise Invalid(f"content must be 1-{MAX_CONTENT} characters")
    if any(m.role == "system" for m in request.preceding):
        raise Invalid("only user and assistant messages are stored with a turn")
    if request.instructions is not None and len(request.instructions) > MAX_CONTENT:
        raise Invalid(f"instructions must be at most {MAX_CONTENT} characters")
    if request.end_user is not None:
        check_end_user(request.end_user)
    if request.after is not None and request.conversation_id is None:
        raise Invalid("a turn continues from a reply of a given conversation")


async def without_start(events: TurnEvents) -> AsyncIterator[ChatDelta | TurnResult]:
    async with aclosing(events):  # closed early, the turn's hold is given back at once
        async for event in events:
            if not isinstance(event, TurnStarted):
                yield event


def character_options(character: Character) -> ModelOptions:
    """What a character asks of its model calls; a request's own options win over these."""
    return ModelOptions(
        model=character.model,
        temperature=character.temperature,
        max_output_tokens=character.max_output_tokens,
    )


def options(request: TurnRequest | CompletionRequest, character: Character) -> ModelOptions:
    """The request's options, the character's filling what the request leaves open."""
    return request.options.over(character_options(character))
