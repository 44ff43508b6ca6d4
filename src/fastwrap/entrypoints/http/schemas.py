"""Request and response bodies. Field limits mirror the domain's so bad input is a clean 422."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, StrictBool

from fastwrap.domain.model import Character, Client, Knowledge, SearchHit
from fastwrap.entrypoints.http.json_types import (
    JsonFloat,
    JsonInt,
    Metadata,
    ModelName,
    OutputTokens,
    Temperature,
    TokenBudget,
    Ttl,
)
from fastwrap.entrypoints.http.memory_schemas import MemoryIn, MemoryOut, RecalledOut
from fastwrap.entrypoints.views import character_view, hit_view

CONVERSATION_ID = r"^[A-Za-z0-9._:-]{1,128}$"
END_USER = r"^[A-Za-z0-9._:@-]{1,128}$"
ENTITY_TYPE = r"^[A-Za-z0-9._:-]{1,64}$"
ENTITY_ID = r"^[A-Za-z0-9._:@-]{1,128}$"
Email = str  # validated and normalised by the domain; the schema only bounds the size
# vector: by meaning; keyword: by words (PostgreSQL full-text search); hybrid: both, fused.
SearchModeIn = Literal["vector", "keyword", "hybrid"]


class Envelope[T](BaseModel):
    message: str
    data: T


class Items[T](BaseModel):
    items: list[T]
    next_cursor: str | None


# --- clients -------------------------------------------------------------------------------


class Credentials(BaseModel):
    email: Email = Field(min_length=3, max_length=254)
    password: str = Field(min_length=1, max_length=256)


class ClientOut(BaseModel):
    id: UUID
    email: str
    is_admin: bool
    is_active: bool
    subscription: str | None
    store_name: str | None
    phone: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, client: Client) -> ClientOut:
        return cls(
            id=client.id,
            email=client.email,
            is_admin=client.is_admin,
            is_active=client.is_active,
            subscription=client.subscription,
            store_name=client.store_name,
            phone=client.phone,
            created_at=client.created_at,
            updated_at=client.updated_at,
        )


class AdminClientOut(ClientOut):
    """What admins see: also whether (and when) the client was deleted."""

    deleted_at: datetime | None
    token_budget_daily: int | None = None
    token_budget_monthly: int | None = None

    @classmethod
    def of(cls, client: Client) -> AdminClientOut:
        return cls(
            **ClientOut.of(client).model_dump(),
            deleted_at=client.deleted_at,
            token_budget_daily=client.token_budget_daily,
            token_budget_monthly=client.token_budget_monthly,
        )


class ClientWithKey(ClientOut):
    api_key: str


class KeyEnvelope(Envelope[ClientWithKey]):
    """Regenerate also repeats the key at top level, as the original API did."""

    api_key: str


# A PATCH body with a field the route does not know is a 422, never a 200 that drops it.
FORBID_EXTRA = ConfigDict(extra="forbid")


class OwnChanges(BaseModel):
    model_config = FORBID_EXTRA

    current_password: str = Field(min_length=1, max_length=256)
    email: Email | None = Field(default=None, min_length=3, max_length=254)
    password: str | None = Field(default=None, min_length=1, max_length=256)


Subscription = Annotated[str, Field(min_length=1, max_length=64)]
StoreName = Annotated[str, Field(min_length=1, max_length=200)]
Phone = Annotated[str, Field(min_length=1, max_length=32)]


class AdminClientIn(Credentials):
    is_admin: StrictBool = False
    subscription: Subscription | None = None
    store_name: StoreName | None = None
    phone: Phone | None = None


class AdminClientPatch(BaseModel):
    """Only the fields sent change; null clears subscription, store_name or phone."""

    model_config = FORBID_EXTRA

    email: Email | None = Field(default=None, min_length=3, max_length=254)
    password: str | None = Field(default=None, min_length=1, max_length=256)
    is_active: StrictBool | None = None
    is_admin: StrictBool | None = None
    subscription: Subscription | None = None
    store_name: StoreName | None = None
    phone: Phone | None = None
    token_budget_daily: TokenBudget | None = Field(
        default=None, description="Tokens per UTC day (SPEC §13); null removes the budget"
    )
    token_budget_monthly: TokenBudget | None = Field(
        default=None, description="Tokens per UTC month; null removes the budget"
    )


# --- characters ----------------------------------------------------------------------------


class KnowledgeIn(BaseModel):
    entity_types: list[str] = Field(min_length=1, max_length=20)
    top_k: JsonInt = Field(default=4, ge=1, le=50)
    min_score: JsonFloat = Field(default=0.3, ge=-1.0, le=1.0)
    mode: SearchModeIn = "vector"

    def to_domain(self) -> Knowledge:
        return Knowledge(
            entity_types=tuple(self.entity_types),
            top_k=self.top_k,
            min_score=self.min_score,
            mode=self.mode,
        )


class CharacterIn(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    name: str | None = Field(default=None, max_length=100)
    agent_role: str = Field(min_length=1, max_length=20_000)
    ttl: Ttl | None = Field(default=None, validation_alias=AliasChoices("ttl", "TTL"))
    knowledge: KnowledgeIn | None = None
    model: ModelName | None = None
    temperature: Temperature | None = None
    max_output_tokens: OutputTokens | None = None
    end_user_daily_tokens: TokenBudget | None = None
    memory: MemoryIn | None = None


class CharacterPatchIn(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    name: str | None = Field(default=None, max_length=100)
    agent_role: str | None = Field(default=None, min_length=1, max_length=20_000)
    ttl: Ttl | None = Field(default=None, validation_alias=AliasChoices("ttl", "TTL"))
    knowledge: KnowledgeIn | None = None
    model: ModelName | None = None
    temperature: Temperature | None = None
    max_output_tokens: OutputTokens | None = None
    end_user_daily_tokens: TokenBudget | None = None
    memory: MemoryIn | None = None


class KnowledgeOut(BaseModel):
    entity_types: list[str]
    top_k: int
    min_score: float
    mode: SearchModeIn


class CharacterOut(BaseModel):
    id: UUID
    name: str | None
    agent_role: str
    ttl: int | None
    knowledge: KnowledgeOut | None
    model: str | None = None
    temperature: float | None = None
    max_output_tokens: int | None = None
    end_user_daily_tokens: int | None = None
    memory: MemoryOut | None = None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, c: Character) -> CharacterOut:
        k = c.knowledge
        return cls(
            id=c.id,
            name=c.name,
            agent_role=c.agent_role,
            ttl=c.ttl,
            knowledge=KnowledgeOut(
                entity_types=list(k.entity_types), top_k=k.top_k, min_score=k.min_score, mode=k.mode
            )
            if k
            else None,
            model=c.model,
            temperature=c.temperature,
            max_output_tokens=c.max_output_tokens,
            end_user_daily_tokens=c.end_user_daily_tokens,
            memory=MemoryOut(enabled=m.enabled, top_k=m.top_k, min_score=m.min_score, scope=m.scope)
            if (m := c.memory)
            else None,
            created_at=c.created_at,
            updated_at=c.updated_at,
        )

    @staticmethod
    def plain(c: Character) -> dict[str, Any]:
        """The JSON of `of(c)`, as plain values for `plain_ok` (read routes; tested equal)."""
        return character_view(c)


# --- chat ----------------------------------------------------------------------------------


class ChatIn(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    character_id: UUID = Field(validation_alias=AliasChoices("character_id", "uuid"))
    content: str = Field(min_length=1, max_length=32_000)
    conversation_id: str | None = Field(default=None, pattern=CONVERSATION_ID)
    end_user: str | None = Field(
        default=None,
        pattern=END_USER,
        description="Your end user's id: tags the turn; their conversations stay theirs",
    )
    role: Literal["user"] = "user"
    stream: StrictBool = False


class ReplyOut(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str


class UsageOut(BaseModel):
    input_tokens: int | None = None
    output_tokens: int | None = None


class SourceOut(BaseModel):
    entity_type: str
    entity_id: str
    score: float


class TurnOut(BaseModel):
    conversation_id: str
    character_id: UUID
    reply: ReplyOut
    usage: UsageOut
    expires_at: datetime
    sources: list[SourceOut]
    memories: list[RecalledOut] = Field(
        default_factory=list, description="what the turn recalled of earlier turns (SPEC §15)"
    )


class MessageOut(BaseModel):
    role: Literal["user", "assistant"]
    content: str
    created_at: datetime


class ConversationOut(BaseModel):
    conversation_id: str
    character_id: UUID | None = Field(
        description="None until the first turn of a conversation created empty (/v1)"
    )
    end_user: str | None = None
    messages: list[MessageOut]
    expires_at: datetime


# --- vectors -------------------------------------------------------------------------------


class SnippetIn(BaseModel):
    entity_type: str = Field(pattern=ENTITY_TYPE)
    entity_id: str = Field(pattern=ENTITY_ID)
    content: str = Field(min_length=1, max_length=32_000)
    metadata: Metadata | None = None  # null means none (SPEC §7)


class UpsertIn(BaseModel):
    """One snippet inline, or up to 100 in `items` (embedded in one batched call)."""

    entity_type: str | None = Field(default=None, pattern=ENTITY_TYPE)
    entity_id: str | None = Field(default=None, pattern=ENTITY_ID)
    content: str | None = Field(default=None, min_length=1, max_length=32_000)
    metadata: Metadata | None = None
    items: list[SnippetIn] | None = Field(default=None, min_length=1, max_length=100)


class SnippetOut(BaseModel):
    id: UUID
    entity_type: str
    entity_id: str
    content: str
    metadata: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class SearchIn(BaseModel):
    query: str = Field(min_length=1, max_length=32_000)
    top_k: JsonInt = Field(default=5, ge=1, le=50)
    entity_type: str | None = Field(default=None, pattern=ENTITY_TYPE)
    metadata: Metadata | None = None
    mode: SearchModeIn = "vector"


class HitOut(BaseModel):
    """`score`: 1 - cosine distance (vector), full-text relevance in [0, 1) (keyword), or the
    rank fusion, 1.0 when first in both lists (hybrid). `distance` is null in keyword mode;
    the ranks (1 = best) are set in hybrid mode, null where that part did not find the hit."""

    id: UUID
    entity_type: str
    entity_id: str
    content: str
    metadata: dict[str, Any]
    score: float
    distance: float | None
    vector_rank: int | None = None
    keyword_rank: int | None = None

    @staticmethod
    def plain(h: SearchHit) -> dict[str, Any]:
        """The JSON of a hit as plain values for `plain_ok` (the search route; tested equal)."""
        return hit_view(h)


class ImportOut(BaseModel):
    imported: int
    embedded: int  # how many of them FastWrap embedded (the others came with an embedding)


# --- service -------------------------------------------------------------------------------


class ServiceInfo(BaseModel):
    name: str
    version: str
    docs_url: str
    playground_url: str


class CheckOut(BaseModel):
    status: Literal["ok", "down"]
    adapter: str
    detail: str | None = None


class HealthOut(BaseModel):
    status: Literal["ok", "degraded"]
    checks: dict[str, CheckOut]
