"""One chat turn: prompt, knowledge, trimmed history, new message; stored atomically. Or a
stateless one (completions.py): prompt, knowledge, the caller's messages; nothing stored."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, replace
from datetime import datetime
from uuid import UUID, uuid4

from fastwrap.domain.completions import (
    MAX_CONTENT,
    CompletionRequest,
    CompletionResult,
    check_caller_messages,
    relay,
)
from fastwrap.domain.errors import (
    CharacterMismatch,
    CharacterNotFound,
    EndUserMismatch,
    Invalid,
    NotFound,
)
from fastwrap.domain.model import (
    NO_OPTIONS,
    Caller,
    Character,
    ChatDelta,
    ChatReply,
    Conversation,
    Message,
    ModelOptions,
    PromptMessage,
    SearchHit,
    check_conversation_id,
    check_end_user,
)
from fastwrap.domain.vectors import VectorService
from fastwrap.ports.clock import Clock
from fastwrap.ports.conversations import ConversationStore, TurnSlot
from fastwrap.ports.llm import ChatModel
from fastwrap.ports.repositories import CharacterRepository


@dataclass(frozen=True, slots=True, kw_only=True)
class TurnRequest:
    """One turn. `end_user` is who the tenant's app says is talking (SPEC §13): a conversation
    started for an end user is continued only for that end user (or by the tenant itself,
    naming none). `options` tune this turn's model call; `key_id` is the key the tenant
    authenticated with (None: its primary key, or no key at all), for the usage ledger."""

    character_id: UUID
    content: str
    conversation_id: str | None = None
    end_user: str | None = None
    options: ModelOptions = NO_OPTIONS
    key_id: UUID | None = None

    def caller(self, character: Character) -> Caller:
        return Caller(
            client_id=character.client_id,
            character_id=character.id,
            key_id=self.key_id,
            end_user=self.end_user,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class TurnResult:
    conversation_id: str
    character_id: UUID
    reply: ChatReply
    expires_at: datetime
    sources: tuple[SearchHit, ...]


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


def preamble(character: Character, hits: Sequence[SearchHit]) -> list[PromptMessage]:
    """What every prompt of the character starts with: its role, then its knowledge."""
    prompt = [PromptMessage(role="system", content=character.agent_role)]
    if hits:
        prompt.append(PromptMessage(role="system", content=knowledge_prompt(hits)))
    return prompt


def build_prompt(
    character: Character,
    hits: Sequence[SearchHit],
    history: Sequence[Message],
    content: str,
) -> list[PromptMessage]:
    prompt = preamble(character, hits)
    prompt += [PromptMessage(role=m.role, content=m.content) for m in history]
    prompt.append(PromptMessage(role="user", content=content))
    return prompt


class ChatService:
    def __init__(
        self,
        *,
        characters: CharacterRepository,
        conversations: ConversationStore,
        model: ChatModel,
        vectors: VectorService,
        clock: Clock,
        default_ttl: int,
        budget: HistoryBudget,
    ) -> None:
        self._characters = characters
        self._conversations = conversations
        self._model = model
        self._vectors = vectors
        self._clock = clock
        self._default_ttl = default_ttl
        self._budget = budget

    async def _prepare(
        self, client_id: UUID, request: TurnRequest
    ) -> tuple[Character, str, tuple[SearchHit, ...]]:
        if not 1 <= len(request.content) <= MAX_CONTENT:
            raise Invalid(f"content must be 1-{MAX_CONTENT} characters")
        if request.end_user is not None:
            check_end_user(request.end_user)
        conversation_id = (
            check_conversation_id(request.conversation_id)
            if request.conversation_id is not None
            else uuid4().hex
        )
        character = await self._characters.get(client_id, request.character_id)
        if character is None:
            raise CharacterNotFound("character not found")
        return character, conversation_id, await self._knowledge(character, request.content)

    async def _prepare_completion(
        self, client_id: UUID, request: CompletionRequest
    ) -> tuple[Character, tuple[SearchHit, ...], list[PromptMessage]]:
        question = check_caller_messages(request.messages)
        if request.end_user is not None:
            check_end_user(request.end_user)
        character = await self._characters.get(client_id, request.character_id)
        if character is None:
            raise CharacterNotFound("character not found")
        hits = await self._knowledge(character, question)
        return character, hits, [*preamble(character, hits), *request.messages]

    async def _knowledge(self, character: Character, content: str) -> tuple[SearchHit, ...]:
        knowledge = character.knowledge
        if knowledge is None:
            return ()
        hits = await self._vectors.search(
            character.client_id,
            content,
            top_k=knowledge.top_k,
            entity_types=knowledge.entity_types,
            mode=knowledge.mode,
        )
        return tuple(h for h in hits if h.score >= knowledge.min_score)

    async def _history(
        self, client_id: UUID, conversation_id: str, character: Character, end_user: str | None
    ) -> list[Message]:
        recent = self._budget.max_messages
        conversation = await self._conversations.get(client_id, conversation_id, recent=recent)
        return self._checked_history(conversation, character, end_user)

    def _checked_history(
        self, conversation: Conversation | None, character: Character, end_user: str | None
    ) -> list[Message]:
        if conversation is None:
            return []
        check_binding(conversation, character.id, end_user)
        return trim_history(conversation.messages, self._budget)

    def _hold(
        self, character: Character, conversation_id: str
    ) -> AbstractAsyncContextManager[TurnSlot]:
        ttl = character.ttl or self._default_ttl
        # Only what the history budget can use: a conversation keeps up to 1,000 messages.
        recent = self._budget.max_messages
        return self._conversations.turn(character.client_id, conversation_id, ttl, recent=recent)

    def _question(self, content: str) -> Message:
        """The user's message, stamped when its turn holds the conversation and asks the
        model: before the reply (which can take seconds), and never before the turn it queued
        behind, so a conversation's messages stay in time order."""
        return Message(role="user", content=content, created_at=self._clock.now())

    async def _store(
        self,
        held: TurnSlot,
        character: Character,
        question: Message,
        reply: ChatReply,
        end_user: str | None,
    ) -> datetime:
        last = held.conversation.last_seq if held.conversation is not None else 0
        answer = Message(
            role="assistant",
            content=reply.content,
            created_at=self._clock.now(),
            seq=last + 2,
            usage=reply.usage,
        )
        turn = (replace(question, seq=last + 1), answer)
        return await held.commit(character.id, turn, end_user=end_user)

    async def turn(self, client_id: UUID, request: TurnRequest) -> TurnResult:
        character, conversation_id, hits = await self._prepare(client_id, request)
        async with self._hold(character, conversation_id) as held:
            question = self._question(request.content)
            history = self._checked_history(held.conversation, character, request.end_user)
            prompt = build_prompt(character, hits, history, request.content)
            reply = await self._model.reply(prompt, request.options, request.caller(character))
            expires_at = await self._store(held, character, question, reply, request.end_user)
        return TurnResult(
            conversation_id=conversation_id,
            character_id=character.id,
            reply=reply,
            expires_at=expires_at,
            sources=hits,
        )

    async def stream_turn(
        self, client_id: UUID, request: TurnRequest
    ) -> AsyncIterator[ChatDelta | TurnResult]:
        """Yield deltas as they come, then the TurnResult once the turn is stored.

        Validation and lookups happen before the first yield; closing the iterator early
        (a client that went away) stores nothing.
        """
        character, conversation_id, hits = await self._prepare(client_id, request)
        # Checked again under the lock; checking here too lets the common 409 be a real status.
        await self._history(client_id, conversation_id, character, request.end_user)
        return self._stream(character, conversation_id, hits, request)

    async def _stream(
        self,
        character: Character,
        conversation_id: str,
        hits: tuple[SearchHit, ...],
        request: TurnRequest,
    ) -> AsyncIterator[ChatDelta | TurnResult]:
        async with self._hold(character, conversation_id) as held:
            question = self._question(request.content)
            history = self._checked_history(held.conversation, character, request.end_user)
            prompt = build_prompt(character, hits, history, request.content)
            calling = self._model.stream(prompt, request.options, request.caller(character))
            async for event in relay(calling):
                if isinstance(event, ChatDelta):
                    yield event
                else:
                    reply = event
            expires_at = await self._store(held, character, question, reply, request.end_user)
        yield TurnResult(
            conversation_id=conversation_id,
            character_id=character.id,
            reply=reply,
            expires_at=expires_at,
            sources=hits,
        )

    async def complete(self, client_id: UUID, request: CompletionRequest) -> CompletionResult:
        """A stateless turn: the same prompt, knowledge and model call as `turn`, the history
        being the caller's; nothing is stored and no conversation is held."""
        character, hits, prompt = await self._prepare_completion(client_id, request)
        reply = await self._model.reply(prompt, request.options, request.caller(character))
        return CompletionResult(character_id=character.id, reply=reply, sources=hits)

    async def stream_complete(
        self, client_id: UUID, request: CompletionRequest
    ) -> AsyncIterator[ChatDelta | CompletionResult]:
        """`complete`, streamed: deltas, then the CompletionResult. Validation and lookups
        happen before the first yield."""
        character, hits, prompt = await self._prepare_completion(client_id, request)
        calling = self._model.stream(prompt, request.options, request.caller(character))
        return self._stream_completion(character, hits, calling)

    async def _stream_completion(
        self, character: Character, hits: tuple[SearchHit, ...], calling: AsyncIterator[ChatDelta]
    ) -> AsyncIterator[ChatDelta | CompletionResult]:
        async for event in relay(calling):
            if isinstance(event, ChatDelta):
                yield event
            else:
                yield CompletionResult(character_id=character.id, reply=event, sources=hits)

    async def conversation(
        self, client_id: UUID, conversation_id: str, *, end_user: str | None = None
    ) -> Conversation:
        """The history; with `end_user`, only a conversation of that end user (else NotFound,
        as for another tenant's)."""
        conversation = await self._conversations.get(
            client_id, check_conversation_id(conversation_id)
        )
        if conversation is None or not visible_to(conversation, end_user):
            raise NotFound("conversation not found or expired")
        return conversation

    async def forget(
        self, client_id: UUID, conversation_id: str, *, end_user: str | None = None
    ) -> None:
        if end_user is not None:
            await self.conversation(client_id, conversation_id, end_user=end_user)
        if not await self._conversations.delete(client_id, check_conversation_id(conversation_id)):
            raise NotFound("conversation not found or expired")


def check_binding(conversation: Conversation, character_id: UUID, end_user: str | None) -> None:
    """A turn may continue a conversation of its character, and, when it names an end user,
    only one that end user started (a conversation created empty is bound by its first turn)."""
    if conversation.character_id is None:
        return
    if conversation.character_id != character_id:
        raise CharacterMismatch("conversation_id belongs to another character")
    if end_user is not None and conversation.end_user != end_user:
        raise EndUserMismatch("conversation_id belongs to another end user")


def visible_to(conversation: Conversation, end_user: str | None) -> bool:
    """The tenant sees all of its conversations; an end user only its own."""
    return end_user is None or conversation.end_user == end_user
