"""Bodies of the key, end-user token and client settings routes (SPEC §13)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from fastwrap.domain.access import DEFAULT_TOKEN_TTL, TOKEN_TTL, IssuedApiKey, IssuedToken
from fastwrap.domain.client_settings import MAX_ORIGINS, ClientSettings
from fastwrap.domain.keys import ApiKey
from fastwrap.entrypoints.http.json_types import JsonInt, TokenCount
from fastwrap.entrypoints.http.schemas import CONVERSATION_ID, END_USER

ScopeIn = Literal["chat", "read", "write", "account"]
FORBID_EXTRA = ConfigDict(extra="forbid")


class KeyIn(BaseModel):
    model_config = FORBID_EXTRA

    name: str = Field(min_length=1, max_length=100)
    scopes: list[ScopeIn] = Field(min_length=1, max_length=4)
    expires_at: AwareDatetime | None = None


class KeyOut(BaseModel):
    id: UUID
    name: str
    prefix: str
    scopes: list[ScopeIn]
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None

    @classmethod
    def of(cls, key: ApiKey) -> KeyOut:
        return cls(
            id=key.id,
            name=key.name,
            prefix=key.prefix,
            scopes=sorted(key.scopes),
            created_at=key.created_at,
            last_used_at=key.last_used_at,
            expires_at=key.expires_at,
        )


class KeyWithSecret(KeyOut):
    api_key: str

    @classmethod
    def issued(cls, result: IssuedApiKey) -> KeyWithSecret:
        return cls(**KeyOut.of(result.key).model_dump(), api_key=result.api_key)


class TokenIn(BaseModel):
    model_config = FORBID_EXTRA

    character_id: UUID
    end_user: str = Field(pattern=END_USER)
    conversation_id: str | None = Field(default=None, pattern=CONVERSATION_ID)
    ttl: JsonInt = Field(default=DEFAULT_TOKEN_TTL, ge=TOKEN_TTL[0], le=TOKEN_TTL[1])


class TokenOut(BaseModel):
    token: str
    expires_at: datetime
    character_id: UUID
    end_user: str
    conversation_id: str | None

    @classmethod
    def issued(cls, result: IssuedToken) -> TokenOut:
        t = result.token
        return cls(
            token=result.secret,
            expires_at=t.expires_at,
            character_id=t.character_id,
            end_user=t.end_user,
            conversation_id=t.conversation_id,
        )


class SettingsPatchIn(BaseModel):
    """Only the fields sent change; `end_user_daily_tokens: null` removes the budget."""

    model_config = FORBID_EXTRA

    allowed_origins: list[str] = Field(
        default_factory=list,
        max_length=MAX_ORIGINS,
        description="Exact origins, e.g. `https://app.example` (scheme, host, optional port)",
    )
    end_user_daily_tokens: TokenCount | None = None


class SettingsOut(BaseModel):
    allowed_origins: list[str]
    end_user_daily_tokens: int | None

    @classmethod
    def of(cls, settings: ClientSettings) -> SettingsOut:
        return cls(
            allowed_origins=list(settings.allowed_origins),
            end_user_daily_tokens=settings.end_user_daily_tokens,
        )
