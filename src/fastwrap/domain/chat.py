"""One chat turn: prompt, knowledge, trimmed history, new message; stored atomically. Or a
stateless one (completions.py): prompt, knowledge, the caller's messages; nothing stored."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import replace
from datetime import datetime
from uuid import UUID, uuid4

from fastwrap.domain.budgets import BudgetGuard
from fastwrap.domain.completions import (
    MAX_CONTENT,
    CompletionRequest,
    CompletionResult,
    check_caller_messages,
    completion_events,
    relay,
)
from fastwrap.domain.errors import CharacterNotFound, NotFound
from fastwrap.domain.model import (
    Character,
    ChatDelta,
    ChatReply,
    Conversation,
    Message,
    PromptMessage,
    SearchHit,
    check_conversation_id,
    check_end_user,
)
from fastwrap.domain.turns import (
    REPLY_GONE,
    HistoryBudget,
    Place,
    Position,
    TurnEvents,
    TurnRequest,
    TurnResult,
    TurnStarted,
    build_prompt,
    check_binding,
    check_request,
    is_latest,
    options,
    preamble,
    trim_history,
    visible_to,
    without_start,
)
from fastwrap.domain.vectors import VectorService
from fastwrap.ports.clock import Clock
from fastwrap.ports.conversations import ConversationStore, TurnSlot
from fastwrap.ports.llm import ChatModel
from fastwrap.ports.repositories import CharacterRepository

__all__ = [  # the turn's types and rules live in turns.py; callers know them from here
    "MAX_CONTENT",
    "ChatService",
    "HistoryBudget",
    "Position",
    "TurnRequest",
    "TurnResult",
    "TurnStarted",
    "build_prompt",
    "check_binding",
    "preamble",
    "trim_history",
    "visible_to",
]


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
        budgets: BudgetGuard | None = None,
    ) -> None:
        self._characters = characters
        self._conversations = conversations
        self._model = model
        self._vectors = vectors
        self._clock = clock
        self._default_ttl = default_ttl
        self._budget = budget
        self._budgets = budgets

    async def _prepare(
        self, client_id: UUID, request: TurnRequest
    ) -> tuple[Character, str, tuple[SearchHit, ...]]:
        check_request(request)
        conversation_id = (
            check_conversation_id(request.conversation_id)
            if request.conversation_id is not None
            else uuid4().hex
        )
        character = await self._characters.get(client_id, request.character_id)
        if character is None:
            raise CharacterNotFound("character not found")
        await self._admit(request, character)
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
        await self._admit(request, character)
        hits = await self._knowledge(character, question)
        return character, hits, [*preamble(character, hits), *request.messages]

    async def _admit(self, request: TurnRequest | CompletionRequest, character: Character) -> None:
        """Refuse (429) a turn whose token budgets are spent, before anything is searched,
        held or asked (the model's wrapper then counts this as the call's admission)."""
        if self._budgets is not None:
            await self._budgets.admit(request.caller(character))

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

    async def _precheck(
        self, client_id: UUID, conversation_id: str, character: Character, request: TurnRequest
    ) -> None:
        """Before a stream answers: the refusals a turn would meet, as a real status."""
        recent = self._budget.max_messages
        conversation = await self._conversations.get(client_id, conversation_id, recent=recent)
        self._checked_history(conversation, character, request.end_user)
        if request.after is not None:
            is_latest(conversation, request.after)

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

    @asynccontextmanager
    async def _placed(
        self, character: Character, conversation_id: str, request: TurnRequest
    ) -> AsyncIterator[Place]:
        """Hold where the turn goes: its conversation, or a fork when `after` is not the latest
        reply (decided under the conversation's lock, so that of two turns continuing the same
        latest reply, the second forks)."""
        after = request.after
        async with self._hold(character, conversation_id) as held:
            found = held.conversation
            if after is None or is_latest(found, after):
                history = self._checked_history(found, character, request.end_user)
                last = found.last_seq if found is not None else 0
                yield Place(held=held, conversation_id=conversation_id, history=history, last=last)
                return
        base, _ = await self._history_to(character, conversation_id, after, request.end_user)
        fork_id = uuid4().hex
        async with self._hold(character, fork_id) as held:
            yield Place(
                held=held,
                conversation_id=fork_id,
                history=trim_history(base, self._budget),
                last=after.seq,
                base=base,
                forked_from=conversation_id,
            )

    async def _history_to(
        self, character: Character, conversation_id: str, after: Position, end_user: str | None
    ) -> tuple[tuple[Message, ...], Conversation]:
        """The stored history of a conversation up to and including the reply `after`."""
        conversation = await self._conversations.get(character.client_id, conversation_id)
        if conversation is None:
            raise NotFound(REPLY_GONE)
        check_binding(conversation, character.id, end_user)
        base = tuple(m for m in conversation.messages if m.seq <= after.seq)
        if not base or not after.marks(base[-1]):
            raise NotFound(REPLY_GONE)
        return base, conversation

    async def _unstored(
        self, character: Character, conversation_id: str, request: TurnRequest
    ) -> Place:
        """A turn that stores nothing reads what it continues from, and holds nothing."""
        found: Conversation | None
        if request.after is not None:
            base, found = await self._history_to(
                character, conversation_id, request.after, request.end_user
            )
            history = trim_history(base, self._budget)
        else:
            found = await self._conversations.get(
                character.client_id, conversation_id, recent=self._budget.max_messages
            )
            history = self._checked_history(found, character, request.end_user)
        expires_at = found.expires_at if found is not None else self._clock.now()
        return Place(
            held=None, conversation_id=conversation_id, history=history, last=0,
            expires_at=expires_at,
        )  # fmt: skip

    def _question(self, content: str) -> Message:
        """The user's message, stamped when its turn holds the conversation and asks the
        model: before the reply (which can take seconds), and never before the turn it queued
        behind, so a conversation's messages stay in time order."""
        return Message(role="user", content=content, created_at=self._clock.now())

    @staticmethod
    def _reply_seq(place: Place, request: TurnRequest) -> int:
        return place.last + len(request.preceding) + 2 if place.held is not None else 0

    async def _store(
        self,
        place: Place,
        character: Character,
        question: Message,
        reply: ChatReply,
        request: TurnRequest,
    ) -> datetime:
        if place.held is None:
            assert place.expires_at is not None
            return place.expires_at
        last = place.last
        inputs = [
            Message(role=m.role, content=m.content, created_at=question.created_at, seq=last + i)
            for i, m in enumerate(request.preceding, start=1)
            if m.role != "system"
        ]
        seq = last + len(inputs) + 1
        answer = Message(
            role="assistant",
            content=reply.content,
            created_at=self._clock.now(),
            seq=seq + 1,
            usage=reply.usage,
            details=request.details,
        )
        turn = (*place.base, *inputs, replace(question, seq=seq), answer)
        return await place.held.commit(character.id, turn, end_user=request.end_user)

    def _result(
        self,
        character: Character,
        place: Place,
        request: TurnRequest,
        reply: ChatReply,
        expires_at: datetime,
        hits: tuple[SearchHit, ...],
    ) -> TurnResult:
        return TurnResult(
            conversation_id=place.conversation_id,
            character_id=character.id,
            reply=reply,
            expires_at=expires_at,
            sources=hits,
            position=self._reply_seq(place, request),
            stored=place.held is not None,
            forked_from=place.forked_from,
        )

    @asynccontextmanager
    async def _place(
        self, character: Character, conversation_id: str, request: TurnRequest
    ) -> AsyncIterator[Place]:
        if not request.store:
            yield await self._unstored(character, conversation_id, request)
            return
        async with self._placed(character, conversation_id, request) as place:
            yield place

    async def turn(self, client_id: UUID, request: TurnRequest) -> TurnResult:
        character, conversation_id, hits = await self._prepare(client_id, request)
        async with self._place(character, conversation_id, request) as place:
            question = self._question(request.content)
            prompt = build_prompt(
                character, hits, place.history, request.content,
                instructions=request.instructions, preceding=request.preceding,
            )  # fmt: skip
            reply = await self._model.reply(
                prompt, options(request, character), request.caller(character)
            )
            expires_at = await self._store(place, character, question, reply, request)
        return self._result(character, place, request, reply, expires_at, hits)

    async def stream_turn(
        self, client_id: UUID, request: TurnRequest
    ) -> AsyncIterator[ChatDelta | TurnResult]:
        """Yield deltas as they come, then the TurnResult once the turn is stored.

        Validation and lookups happen before the first yield; closing the iterator early
        (a client that went away) stores nothing.
        """
        return without_start(await self._events(client_id, request))

    async def stream_turn_events(
        self, client_id: UUID, request: TurnRequest
    ) -> AsyncIterator[TurnStarted | ChatDelta | TurnResult]:
        """As `stream_turn`, saying first where the reply will be stored (TurnStarted)."""
        return await self._events(client_id, request)

    async def _events(self, client_id: UUID, request: TurnRequest) -> TurnEvents:
        character, conversation_id, hits = await self._prepare(client_id, request)
        # Checked again under the lock; checking here too lets the common 409 be a real status.
        await self._precheck(client_id, conversation_id, character, request)
        return self._stream(character, conversation_id, hits, request)

    async def _stream(
        self,
        character: Character,
        conversation_id: str,
        hits: tuple[SearchHit, ...],
        request: TurnRequest,
    ) -> TurnEvents:
        async with self._place(character, conversation_id, request) as place:
            question = self._question(request.content)
            yield TurnStarted(
                conversation_id=place.conversation_id,
                position=self._reply_seq(place, request),
                forked_from=place.forked_from,
            )
            prompt = build_prompt(
                character, hits, place.history, request.content,
                instructions=request.instructions, preceding=request.preceding,
            )  # fmt: skip
            calling = self._model.stream(
                prompt, options(request, character), request.caller(character)
            )
            async for event in relay(calling):
                if isinstance(event, ChatDelta):
                    yield event
                else:
                    reply = event
            expires_at = await self._store(place, character, question, reply, request)
        yield self._result(character, place, request, reply, expires_at, hits)

    async def complete(self, client_id: UUID, request: CompletionRequest) -> CompletionResult:
        """A stateless turn: the same prompt, knowledge and model call as `turn`, the history
        being the caller's; nothing is stored and no conversation is held."""
        character, hits, prompt = await self._prepare_completion(client_id, request)
        reply = await self._model.reply(
            prompt, options(request, character), request.caller(character)
        )
        return CompletionResult(character_id=character.id, reply=reply, sources=hits)

    async def stream_complete(
        self, client_id: UUID, request: CompletionRequest
    ) -> AsyncIterator[ChatDelta | CompletionResult]:
        """`complete`, streamed: deltas, then the CompletionResult. Validation and lookups
        happen before the first yield."""
        character, hits, prompt = await self._prepare_completion(client_id, request)
        calling = self._model.stream(prompt, options(request, character), request.caller(character))
        return completion_events(character.id, hits, calling)

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
