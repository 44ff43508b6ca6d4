"""Conversations as their own resource (SPEC §12 `/v1/conversations`): created empty or with
items, with metadata, bound to a character by their first turn. The same conversations as a
turn's (§6.4), in the same store, expiring by the same TTL."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal
from uuid import UUID, uuid4

from fastwrap.domain.completions import MAX_CONTENT
from fastwrap.domain.errors import Invalid, NotFound
from fastwrap.domain.model import (
    Conversation,
    JsonObject,
    Message,
    PromptMessage,
    check_conversation_id,
)
from fastwrap.domain.responses import check_metadata, item_seq
from fastwrap.domain.turns import visible_to
from fastwrap.ports.clock import Clock
from fastwrap.ports.conversations import ConversationStore

GONE = "conversation not found or expired"
MAX_ITEMS = 20  # OpenAI's limit on the items a conversation is created with
MAX_PAGE = 100


@dataclass(frozen=True, slots=True, kw_only=True)
class ItemPage:
    conversation_id: str
    items: tuple[Message, ...]
    has_more: bool


class ConversationService:
    def __init__(self, *, conversations: ConversationStore, clock: Clock, default_ttl: int) -> None:
        self._conversations = conversations
        self._clock = clock
        self._default_ttl = default_ttl

    async def create(
        self, client_id: UUID, *, metadata: JsonObject, items: Sequence[PromptMessage]
    ) -> Conversation:
        """A new conversation, bound to no character until its first turn."""
        if len(items) > MAX_ITEMS:
            raise Invalid(f"a conversation is created with at most {MAX_ITEMS} items")
        if any(m.role == "system" for m in items):
            raise Invalid("only user and assistant messages are stored in a conversation")
        if any(not 1 <= len(m.content) <= MAX_CONTENT for m in items):
            raise Invalid(f"content must be 1-{MAX_CONTENT} characters")
        now = self._clock.now()
        messages = tuple(
            Message(role=m.role, content=m.content, created_at=now, seq=n)
            for n, m in enumerate(items, start=1)
            if m.role != "system"
        )
        return await self._conversations.create(
            client_id,
            "conv_" + uuid4().hex,
            ttl_seconds=self._default_ttl,
            metadata=check_metadata(metadata),
            messages=messages,
            at=now,
        )

    async def get(
        self, client_id: UUID, conversation_id: str, *, end_user: str | None = None
    ) -> Conversation:
        """The conversation without its messages."""
        found = await self._conversations.get(
            client_id, check_conversation_id(conversation_id), recent=0
        )
        if found is None or not visible_to(found, end_user):
            raise NotFound(GONE)
        return found

    async def update(
        self,
        client_id: UUID,
        conversation_id: str,
        metadata: JsonObject,
        *,
        end_user: str | None = None,
    ) -> Conversation:
        checked = check_metadata(metadata)
        if end_user is not None:
            await self.get(client_id, conversation_id, end_user=end_user)
        updated = await self._conversations.set_metadata(
            client_id, check_conversation_id(conversation_id), checked
        )
        if updated is None:
            raise NotFound(GONE)
        return updated

    async def delete(
        self, client_id: UUID, conversation_id: str, *, end_user: str | None = None
    ) -> None:
        if end_user is not None:
            await self.get(client_id, conversation_id, end_user=end_user)
        if not await self._conversations.delete(client_id, check_conversation_id(conversation_id)):
            raise NotFound(GONE)

    async def items(
        self,
        client_id: UUID,
        conversation_id: str,
        *,
        limit: int = 20,
        after: str | None = None,
        order: Literal["asc", "desc"] = "desc",
        end_user: str | None = None,
    ) -> ItemPage:
        """One page of the conversation's messages, after the item `after` in `order`."""
        if not 1 <= limit <= MAX_PAGE:
            raise Invalid(f"limit must be 1-{MAX_PAGE}")
        found = await self._conversations.get(client_id, check_conversation_id(conversation_id))
        if found is None or not visible_to(found, end_user):
            raise NotFound(GONE)
        return page(found.id, found.messages, limit=limit, after=after, order=order)


def page(
    conversation_id: str,
    messages: Sequence[Message],
    *,
    limit: int,
    after: str | None,
    order: Literal["asc", "desc"],
) -> ItemPage:
    """`limit` of `messages` in `order`, starting past the item `after` names."""
    ordered = list(messages) if order == "asc" else list(reversed(messages))
    if after is not None:
        seq = item_seq(conversation_id, after)
        ordered = [m for m in ordered if (m.seq > seq if order == "asc" else m.seq < seq)]
    return ItemPage(
        conversation_id=conversation_id,
        items=tuple(ordered[:limit]),
        has_more=len(ordered) > limit,
    )
