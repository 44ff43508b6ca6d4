"""Entities and value objects. Frozen, slotted dataclasses; no I/O."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from fastwrap.domain.errors import Invalid

type Role = Literal["user", "assistant"]
type PromptRole = Literal["system", "user", "assistant"]
type JsonObject = Mapping[str, Any]
# How a search ranks: by cosine similarity, by full-text relevance, or both fused by rank.
type SearchMode = Literal["vector", "keyword", "hybrid"]
SEARCH_MODES: tuple[SearchMode, ...] = ("vector", "keyword", "hybrid")
# Whose memory items a turn recalls (SPEC §15).
type MemoryScope = Literal["end_user", "conversation", "character"]
MEMORY_SCOPES: tuple[MemoryScope, ...] = ("end_user", "conversation", "character")

CONVERSATION_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
END_USER_RE = re.compile(r"^[A-Za-z0-9._:@-]{1,128}$")
ENTITY_ID_RE = re.compile(r"^[A-Za-z0-9._:@-]{1,128}$")
ENTITY_TYPE_RE = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
RATE_PERIODS = {"second": 1.0, "minute": 60.0, "hour": 3600.0, "day": 86400.0}
RATE_LIMIT_RE = re.compile(r"([0-9]{1,9})\s*/\s*([0-9]{1,9})?\s*(second|minute|hour|day)s?")


@dataclass(frozen=True, slots=True, kw_only=True)
class Client:
    """A tenant. `key_digest` is the SHA-256 of its API key; the key itself is never kept.

    `subscription`, `store_name` and `phone` are the original FastWrap's admin-set fields;
    `deleted_at` is set only on a soft-deleted client, which only admins' reads return.
    `allowed_origins` and `end_user_daily_tokens` are the tenant's own settings (SPEC §13): on
    the record every request already looks up, so reading them costs nothing.
    """

    id: UUID
    email: str
    password_hash: str
    key_digest: str
    is_admin: bool = False
    is_active: bool = True
    subscription: str | None = None
    store_name: str | None = None
    phone: str | None = None
    allowed_origins: tuple[str, ...] = ()
    end_user_daily_tokens: int | None = None
    # Token budgets per UTC day and month (SPEC §13); None: no budget.
    token_budget_daily: int | None = None
    token_budget_monthly: int | None = None
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Knowledge:
    """Which of the tenant's snippets a character consults on every turn."""

    entity_types: tuple[str, ...]
    top_k: int = 4
    min_score: float = 0.3
    mode: SearchMode = "vector"


@dataclass(frozen=True, slots=True, kw_only=True)
class MemorySettings:
    """What a character keeps of its turns beyond their conversation (SPEC §15). `enabled`:
    each stored turn becomes a memory item, and later turns recall up to `top_k` of them (0:
    remember, recall none) at least `min_score` alike, from `scope`: the end user's items
    across their conversations (a turn naming no end user recalls nothing), this
    conversation's, or the character's across its conversations. No scope crosses end users:
    an item of an end user is recalled only for that end user."""

    enabled: bool = True
    top_k: int = 4
    min_score: float = 0.3
    scope: MemoryScope = "end_user"


@dataclass(frozen=True, slots=True, kw_only=True)
class Character:
    id: UUID
    client_id: UUID
    name: str | None
    agent_role: str
    ttl: int | None = None
    knowledge: Knowledge | None = None
    # Its model call (SPEC §13): a model of the MODELS allow-list (None: the MODEL setting),
    # the sampling temperature and reply length (None: the provider's), and how many tokens
    # each of its end users may spend per UTC day (None: no such budget).
    model: str | None = None
    temperature: float | None = None
    max_output_tokens: int | None = None
    end_user_daily_tokens: int | None = None
    # None: the operator's defaults (VECTOR_CHAT_STORE_ENABLED and the other VECTOR_CHAT_*).
    memory: MemorySettings | None = None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class Usage:
    input_tokens: int | None = None
    output_tokens: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Message:
    """A stored message. `seq` numbers a conversation's messages from 1, never reused (trimming
    the oldest keeps the others' numbers), so a position in a conversation survives; 0 before
    it is stored. An assistant message keeps the `usage` its model call reported, and `details`
    what the API that asked for the turn wants to find again with it (e.g. a response's
    instructions and metadata): plain JSON, opaque to the domain."""

    role: Role
    content: str
    created_at: datetime
    seq: int = 0
    usage: Usage | None = None
    details: JsonObject | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Conversation:
    """A conversation belongs to one tenant. It is bound to one character by its first turn
    (None before: a conversation created empty, with items), and to the end user that turn
    named, if any: its `end_user`. The prompt is not stored in it.

    `last_seq` is the number of its newest message (0 when it has none); `messages` may be only
    the most recent ones.
    """

    id: str
    client_id: UUID
    character_id: UUID | None
    messages: tuple[Message, ...]
    expires_at: datetime
    end_user: str | None = None
    metadata: JsonObject = field(default_factory=dict)
    created_at: datetime | None = None
    last_seq: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class PromptMessage:
    """One message as the chat model receives it."""

    role: PromptRole
    content: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelOptions:
    """How one call asks the model; None leaves the choice to the next layer down (the
    character's own setting, then the operator's). `model` names an entry of MODELS."""

    model: str | None = None
    temperature: float | None = None
    max_output_tokens: int | None = None

    def over(self, defaults: ModelOptions) -> ModelOptions:
        """These options, with `defaults` filling what these leave open."""
        return ModelOptions(
            model=self.model if self.model is not None else defaults.model,
            temperature=self.temperature if self.temperature is not None else defaults.temperature,
            max_output_tokens=(
                self.max_output_tokens
                if self.max_output_tokens is not None
                else defaults.max_output_tokens
            ),
        )


NO_OPTIONS = ModelOptions()


@dataclass(frozen=True, slots=True, kw_only=True)
class Caller:
    """On whose behalf a model call is made: what usage is recorded and budgets are charged
    against. `key_id` None is the client's primary key (or a caller with no key: CLI, library)."""

    client_id: UUID
    character_id: UUID | None = None
    key_id: UUID | None = None
    end_user: str | None = None

    @classmethod
    def of(cls, character: Character, *, key_id: UUID | None, end_user: str | None) -> Caller:
        """A call about `character`, on its tenant's account."""
        return cls(
            client_id=character.client_id,
            character_id=character.id,
            key_id=key_id,
            end_user=end_user,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class ChatReply:
    content: str
    usage: Usage = field(default_factory=Usage)


@dataclass(frozen=True, slots=True, kw_only=True)
class ChatDelta:
    """A piece of a streamed reply. The provider may report usage on the last delta only."""

    content: str
    usage: Usage | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SnippetInput:
    entity_type: str
    entity_id: str
    content: str
    metadata: JsonObject = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class EmbeddedSnippet:
    """What the vector index stores: a snippet, its vector and the model that made the vector.

    `embedding` is any sequence of floats: bulk paths hold it as a compact `array('f')`.
    """

    client_id: UUID
    entity_type: str
    entity_id: str
    content: str
    metadata: JsonObject
    embedding: Sequence[float]
    model: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Snippet:
    id: UUID
    client_id: UUID
    entity_type: str
    entity_id: str
    content: str
    metadata: JsonObject
    model: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class SearchQuery:
    """`embedding` ranks vector and hybrid searches, `text` keyword and hybrid ones (a keyword
    search needs no embedding: it is empty then)."""

    client_id: UUID
    embedding: tuple[float, ...]
    model: str
    top_k: int
    entity_types: tuple[str, ...] | None = None
    metadata: JsonObject | None = None
    mode: SearchMode = "vector"
    text: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SearchHit:
    """`score`: 1 - cosine distance (vector), full-text relevance in [0, 1) (keyword), or the
    reciprocal-rank fusion normalised so that first in both lists is 1.0 (hybrid).

    `distance` is the cosine distance (None in keyword mode, which embeds nothing); in hybrid
    mode `vector_rank` and `keyword_rank` say where each part ranked the hit (None: not found
    by that part)."""

    snippet: Snippet
    score: float
    distance: float | None
    vector_rank: int | None = None
    keyword_rank: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Page[T]:
    items: tuple[T, ...]
    next_cursor: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class RateDecision:
    """One rate-limit hit's outcome; `reset_after`: seconds until the budget is full again."""

    allowed: bool
    limit: int
    remaining: int
    reset_after: float
    retry_after: float


@dataclass(frozen=True, slots=True, kw_only=True)
class RateLimit:
    """A budget of `count` requests per `period` seconds."""

    count: int
    period: float

    @classmethod
    def parse(cls, text: str) -> RateLimit:
        """`N/unit` or `N/M units`: `60/minute`, `10/15 minutes`, `5/2hours`."""
        match = RATE_LIMIT_RE.fullmatch(text.strip().lower())
        count, multiple = (int(match[1]), int(match[2] or 1)) if match else (0, 0)
        if match is None or count < 1 or multiple < 1:
            raise Invalid(
                f"rate limit {text!r} is not of the form N/second|minute|hour|day "
                "or N/M seconds|minutes|hours|days"
            )
        return cls(count=count, period=multiple * RATE_PERIODS[match[3]])


@dataclass(frozen=True, slots=True, kw_only=True)
class HealthStatus:
    """One dependency's health as /health reports it."""

    ok: bool
    adapter: str
    detail: str | None = None


def check_end_user(value: str) -> str:
    if not END_USER_RE.fullmatch(value):
        raise Invalid("end_user must be 1-128 characters of [A-Za-z0-9._:@-]")
    return value


def check_conversation_id(value: str) -> str:
    if not CONVERSATION_ID_RE.fullmatch(value):
        raise Invalid("conversation_id must be 1-128 characters of [A-Za-z0-9._:-]")
    return value
