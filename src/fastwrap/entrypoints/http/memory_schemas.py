"""Bodies of long-term memory (SPEC §15): a character's `memory`, what a turn recalled, and an
end user's items and erasure."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, Field, StrictBool

from fastwrap.domain.memory import MAX_TOP_K
from fastwrap.domain.memory_items import MemoryHit, MemoryItem
from fastwrap.domain.model import MemorySettings
from fastwrap.entrypoints.http.json_types import JsonFloat, JsonInt

MemoryScopeIn = Literal["end_user", "conversation", "character"]


class MemoryIn(BaseModel):
    """`enabled`: each stored turn is remembered, and later turns of `scope` recall up to
    `top_k` items (0: none) at least `min_score` alike. null on a character: the operator's
    defaults (VECTOR_CHAT_*)."""

    enabled: StrictBool = True
    top_k: JsonInt = Field(default=4, ge=0, le=MAX_TOP_K)
    min_score: JsonFloat = Field(default=0.3, ge=-1.0, le=1.0)
    scope: MemoryScopeIn = "end_user"

    def to_domain(self) -> MemorySettings:
        return MemorySettings(
            enabled=self.enabled, top_k=self.top_k, min_score=self.min_score, scope=self.scope
        )


class MemoryOut(BaseModel):
    enabled: bool
    top_k: int
    min_score: float
    scope: MemoryScopeIn


class MemoryItemOut(BaseModel):
    """`embedded`: false until the memory worker has embedded it (it is recalled only then)."""

    id: UUID
    character_id: UUID
    conversation_id: str
    content: str
    created_at: datetime
    embedded: bool

    @classmethod
    def of(cls, item: MemoryItem) -> MemoryItemOut:
        return cls(
            id=item.id,
            character_id=item.character_id,
            conversation_id=item.conversation_id,
            content=item.content,
            created_at=item.created_at,
            embedded=item.embedded,
        )


class RecalledOut(BaseModel):
    """A memory item a turn recalled; `score`: 1 - cosine distance to the question."""

    id: UUID
    conversation_id: str
    content: str
    created_at: datetime
    score: float

    @classmethod
    def of(cls, hit: MemoryHit) -> RecalledOut:
        item = hit.item
        return cls(
            id=item.id,
            conversation_id=item.conversation_id,
            content=item.content,
            created_at=item.created_at,
            score=hit.score,
        )


class ErasedOut(BaseModel):
    end_user: str
    memory_items: int
    conversations: int
    usage_records: int = Field(description="anonymised: still counted, as no one's")
