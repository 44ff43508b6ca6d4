"""Memory items (SPEC §15): one stored turn each, a recall's hit, and a recall's query."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID


@dataclass(frozen=True, slots=True, kw_only=True)
class MemoryItem:
    """One stored turn: the question (its number `seq` in the conversation) and the answer."""

    id: UUID
    client_id: UUID
    character_id: UUID
    end_user: str | None
    conversation_id: str
    seq: int
    content: str
    created_at: datetime
    embedded: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class MemoryHit:
    item: MemoryItem
    score: float  # 1 - cosine distance


@dataclass(frozen=True, slots=True, kw_only=True)
class MemoryQuery:
    """The embedded items of one scope, nearest first: always one tenant and character; the
    end user's items (None: the items of no end user), and, for scope conversation, of that
    conversation only."""

    client_id: UUID
    character_id: UUID
    end_user: str | None
    conversation_id: str | None
    embedding: tuple[float, ...]
    model: str
    limit: int
