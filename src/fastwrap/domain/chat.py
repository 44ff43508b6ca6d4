"""One chat turn: prompt, knowledge, memory, trimmed history, new message; stored atomically,
then remembered (memory.py). Or a stateless one (completions.py): prompt, knowledge, the
caller's messages; nothing stored. Where a turn goes is places.py's."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
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
from fastwrap.domain.memory import NO_RECALL, MemoryService, Recall, memory_prompt
from fastwrap.domain.memory_items import MemoryHit
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
from fastwrap.domain.places import Places
from fastwrap.domain.turns import (
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
    options,
    preamble,
    trim_history,
    visible_to,
    without_start,
)
from fastwrap.domain.vectors import VectorService
from fastwrap.ports.clock import Clock
from fastwrap.ports.conversations import ConversationStore
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
        memory: MemoryService | None = None,
    ) -> None:
        self._characters = characters
        self._conversations = conversations
        self._model = model
        self._vectors = vectors
        self._clock = clock
        self._budgets = budgets
        self._memory = memory
        self._places = Places(
            conversations=conversations, clock=clock, default_ttl=default_ttl, budget=budget
        )

    async def _prepare(
        self, client_id: UUID, request: TurnRequest
    ) -> tuple[Character, str, tuple[SearchHit, ...], Recall]:
        check_request(request)
        given = request.conversation_id
        conversation_id = check_conversation_id(given) if given is not None else uuid4().hex
        character = await self._characters.get(client_id, request.character_id)
        if character is None:
            raise CharacterNotFound("character not found")
        await self._admit(request, character)
        hits, recall = await self._context(character, request, conversation_id, given is None)
        return character, conversation_id, hits, recall

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

    async def _knowledge(
        self, character: Character, content: str, vector: tuple[float, ...] | None = None
    ) -> tuple[SearchHit, ...]:
        knowledge = character.knowledge
        if knowledge is None:
            return ()
        hits = await self._vectors.search(
            character.client_id,
            content,
            top_k=knowledge.top_k,
            entity_types=knowledge.entity_types,
            mode=knowledge.mode,
            vector=vector,
        )
        return tuple(h for h in hits if h.score >= knowledge.min_score)

    async def _context(
        self, character: Character, request: TurnRequest, conversation_id: str, new: bool
    ) -> tuple[tuple[SearchHit, ...], Recall]:
        """The turn's knowledge and memory candidates, side by side, from one embedding of
        its question (a new conversation has nothing to recall in scope conversation)."""
        memory = self._memory
        content = request.content
        settings = memory.recalling(character, request.end_user, new=new) if memory else None
        if memory is None or settings is None:
            return await self._knowledge(character, content), NO_RECALL
        embedded = await memory.embed(content)
        if embedded is None:  # no memories; the knowledge search asks the embedder itself
            return await self._knowledge(character, content), NO_RECALL
        vector, model = embedded
        room = self._places.budget.max_messages // 2 + 1  # questions the history may show
        return await asyncio.gather(
            self._knowledge(character, content, vector),
            memory.recall(
                character,
                settings,
                end_user=request.end_user,
                conversation_id=conversation_id,
                vector=vector,
                model=model,
                room=room,
            ),
        )

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
        asked = replace(question, seq=seq)
        turn = (*place.base, *inputs, asked, answer)
        expires_at = await place.held.commit(character.id, turn, end_user=request.end_user)
        if self._memory is not None:
            await self._memory.remember(
                character, end_user=request.end_user or place.end_user,
                conversation_id=place.conversation_id, question=asked, answer=reply.content,
            )  # fmt: skip
        return expires_at

    def _prompt(
        self,
        character: Character,
        hits: tuple[SearchHit, ...],
        place: Place,
        request: TurnRequest,
        recall: Recall,
    ) -> tuple[list[PromptMessage], tuple[MemoryHit, ...]]:
        """The turn's prompt, and the memories it shows: those its history does not hold."""
        memories = recall.beyond(place.history, place.conversation_id, place.forked_from)
        memory = memory_prompt(memories, self._memory.defaults) if self._memory else None
        prompt = build_prompt(
            character, hits, place.history, request.content,
            instructions=request.instructions, preceding=request.preceding, memory=memory,
        )  # fmt: skip
        return prompt, memories

    def _result(
        self,
        character: Character,
        place: Place,
        request: TurnRequest,
        reply: ChatReply,
        expires_at: datetime,
        hits: tuple[SearchHit, ...],
        memories: tuple[MemoryHit, ...],
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
            memories=memories,
        )

    async def turn(self, client_id: UUID, request: TurnRequest) -> TurnResult:
        character, conversation_id, hits, recall = await self._prepare(client_id, request)
        async with self._places.place(character, conversation_id, request) as place:
            question = self._question(request.content)
            prompt, memories = self._prompt(character, hits, place, request, recall)
            reply = await self._model.reply(
                prompt, options(request, character), request.caller(character)
            )
            expires_at = await self._store(place, character, question, reply, request)
        return self._result(character, place, request, reply, expires_at, hits, memories)

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
        character, conversation_id, hits, recall = await self._prepare(client_id, request)
        # Checked again under the lock; checking here too lets the common 409 be a real status.
        await self._places.precheck(client_id, conversation_id, character, request)
        return self._stream(character, conversation_id, hits, recall, request)

    async def _stream(
        self,
        character: Character,
        conversation_id: str,
        hits: tuple[SearchHit, ...],
        recall: Recall,
        request: TurnRequest,
    ) -> TurnEvents:
        async with self._places.place(character, conversation_id, request) as place:
            question = self._question(request.content)
            yield TurnStarted(
                conversation_id=place.conversation_id,
                position=self._reply_seq(place, request),
                forked_from=place.forked_from,
            )
            prompt, memories = self._prompt(character, hits, place, request, recall)
            calling = self._model.stream(
                prompt, options(request, character), request.caller(character)
            )
            async for event in relay(calling):
                if isinstance(event, ChatDelta):
                    yield event
                else:
                    reply = event
            expires_at = await self._store(place, character, question, reply, request)
        yield self._result(character, place, request, reply, expires_at, hits, memories)

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
