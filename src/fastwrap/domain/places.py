"""Where a turn goes: its conversation held under the turn lock, a fork of it when the turn
continues an earlier reply, or nowhere (a turn that stores nothing), with the history the
model sees of it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from uuid import UUID, uuid4

from fastwrap.domain.errors import NotFound
from fastwrap.domain.model import Character, Conversation, Message
from fastwrap.domain.turns import (
    REPLY_GONE,
    HistoryBudget,
    Place,
    Position,
    TurnRequest,
    check_binding,
    is_latest,
    trim_history,
)
from fastwrap.ports.clock import Clock
from fastwrap.ports.conversations import ConversationStore, TurnSlot


class Places:
    def __init__(
        self,
        *,
        conversations: ConversationStore,
        clock: Clock,
        default_ttl: int,
        budget: HistoryBudget,
    ) -> None:
        self._conversations = conversations
        self._clock = clock
        self._default_ttl = default_ttl
        self.budget = budget

    async def precheck(
        self, client_id: UUID, conversation_id: str, character: Character, request: TurnRequest
    ) -> None:
        """Before a stream answers: the refusals a turn would meet, as a real status."""
        recent = self.budget.max_messages
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
        return trim_history(conversation.messages, self.budget)

    def _hold(
        self, character: Character, conversation_id: str
    ) -> AbstractAsyncContextManager[TurnSlot]:
        ttl = character.ttl or self._default_ttl
        # Only what the history budget can use: a conversation keeps up to 1,000 messages.
        recent = self.budget.max_messages
        return self._conversations.turn(character.client_id, conversation_id, ttl, recent=recent)

    @asynccontextmanager
    async def place(
        self, character: Character, conversation_id: str, request: TurnRequest
    ) -> AsyncIterator[Place]:
        """The turn's place, held for the duration when the turn is stored."""
        if not request.store:
            yield await self._unstored(character, conversation_id, request)
            return
        async with self._placed(character, conversation_id, request) as place:
            yield place

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
                yield Place(
                    held=held, conversation_id=conversation_id, history=history, last=last,
                    end_user=found.end_user if found is not None else None,
                )  # fmt: skip
                return
        base, original = await self._history_to(character, conversation_id, after, request.end_user)
        fork_id = uuid4().hex
        async with self._hold(character, fork_id) as held:
            yield Place(
                held=held,
                conversation_id=fork_id,
                history=trim_history(base, self.budget),
                last=after.seq,
                base=base,
                forked_from=conversation_id,
                end_user=original.end_user,
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
            history = trim_history(base, self.budget)
        else:
            found = await self._conversations.get(
                character.client_id, conversation_id, recent=self.budget.max_messages
            )
            history = self._checked_history(found, character, request.end_user)
        expires_at = found.expires_at if found is not None else self._clock.now()
        return Place(
            held=None, conversation_id=conversation_id, history=history, last=0,
            expires_at=expires_at,
        )  # fmt: skip
