"""Named, scoped API keys and browser-safe end-user tokens (SPEC §13): the values and the rules.

A client's primary key (signup, login, regenerate) lives on the client row and holds every scope.
Named keys live beside it, each with its scopes and an optional expiry. An end-user token is a
short-lived credential for one end user of one character, issued by a key: it dies at its expiry
and with its tenant, its character or the key that issued it.

Both are random (256 bits) and stored only as a SHA-256 digest, so checking either is one lookup
by digest (served from memory by the lookup cache, dropped on the database's change notices).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, get_args
from uuid import UUID

from fastwrap.domain.errors import Forbidden, Unauthorized
from fastwrap.domain.model import Client

type Scope = Literal["chat", "read", "write", "account"]
SCOPES: tuple[Scope, ...] = get_args(Scope.__value__)
ALL_SCOPES: frozenset[Scope] = frozenset(SCOPES)

KEY_PREFIX = "fw_"
TOKEN_PREFIX = "fwu_"
SECRET_CHARS = 43  # token_urlsafe(32): 256 random bits
PREFIX_SHOWN = 8  # how much of a named key its listing shows
_KEY_RE = re.compile(rf"^fw_[A-Za-z0-9_-]{{{SECRET_CHARS}}}$")
_TOKEN_RE = re.compile(rf"^fwu_[A-Za-z0-9_-]{{{SECRET_CHARS}}}$")
MALFORMED = "API key is missing, unknown or revoked"
TOKEN_ONLY = (
    "an end-user token may only chat with its character as its end user and read or delete "
    "that end user's conversations"
)


class MissingScope(Forbidden):
    """The key is valid but lacks `scope` for this route."""

    code = "InsufficientScope"

    def __init__(self, scope: str) -> None:
        super().__init__(f"this key lacks the {scope!r} scope")
        self.scope = scope


type CredentialKind = Literal["key", "token"]


def credential_kind(raw: str) -> CredentialKind:
    """Which kind of credential `raw` is by its shape; anything else is Unauthorized (401), so
    garbage never reaches a store."""
    if _KEY_RE.fullmatch(raw):
        return "key"
    if _TOKEN_RE.fullmatch(raw):
        return "token"
    raise Unauthorized(MALFORMED)


@dataclass(frozen=True, slots=True, kw_only=True)
class ApiKey:
    """A named key. `digest` is the SHA-256 of the key, `prefix` its first characters (shown in
    lists so people can tell keys apart); the key itself is never kept."""

    id: UUID
    client_id: UUID
    name: str
    prefix: str
    digest: str
    scopes: frozenset[Scope]
    created_at: datetime
    expires_at: datetime | None = None
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class KeyGrant:
    """What a key digest opens: its live client, and the named key (None: the primary key)."""

    client: Client
    key: ApiKey | None


@dataclass(frozen=True, slots=True, kw_only=True)
class EndUserToken:
    """An end-user token's record. `key_id` is the named key that issued it; a token issued by
    the primary key has none and carries that key's digest in `issuer_digest` instead, so it
    dies when the primary key is rotated."""

    id: UUID
    client_id: UUID
    digest: str
    character_id: UUID
    end_user: str
    conversation_id: str | None
    created_at: datetime
    expires_at: datetime
    key_id: UUID | None = None
    issuer_digest: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class TokenGrant:
    """A live token with its live client (the store checked its character and issuing key)."""

    client: Client
    token: EndUserToken


@dataclass(frozen=True, slots=True, kw_only=True)
class Principal:
    """Who is calling: the client, the key (None: the primary key), its scopes, and for an
    end-user token, the token (whose end user, character and conversation bind the caller)."""

    client: Client
    key_id: UUID | None
    scopes: frozenset[Scope]
    expires_at: datetime | None = None
    token: EndUserToken | None = None

    @classmethod
    def of_primary(cls, client: Client) -> Principal:
        """The client's primary key: every scope, no expiry (what the CLI and library act as)."""
        return cls(client=client, key_id=None, scopes=ALL_SCOPES)

    @property
    def end_user(self) -> str | None:
        return self.token.end_user if self.token is not None else None

    def require(self, scope: Scope, *, end_users: bool = False) -> None:
        """Forbidden unless this caller may use a route of `scope`; an end-user token only
        where `end_users` says the route serves them (chat and their conversations)."""
        if self.token is not None:
            if not end_users:
                raise Forbidden(TOKEN_ONLY)
            return
        if scope not in self.scopes:
            raise MissingScope(scope)

    def chat_as(
        self, character_id: UUID, conversation_id: str | None, end_user: str | None
    ) -> tuple[str | None, str | None]:
        """The conversation id and end user a turn runs with: the request's, for a key; the
        token's for a token, which refuses (403) another character, end user or conversation."""
        token = self.token
        if token is None:
            return conversation_id, end_user
        if character_id != token.character_id:
            raise Forbidden("this end-user token is for another character")
        if end_user is not None and end_user != token.end_user:
            raise Forbidden("this end-user token is for another end user")
        if token.conversation_id is not None:
            if conversation_id not in (None, token.conversation_id):
                raise Forbidden("this end-user token is for another conversation")
            conversation_id = token.conversation_id
        return conversation_id, token.end_user

    def may_see(self, conversation_id: str) -> bool:
        """A token bound to one conversation sees only that one."""
        token = self.token
        return token is None or token.conversation_id in (None, conversation_id)


def primary(client: Client) -> Principal:
    return Principal.of_primary(client)


def check_scopes(requested: frozenset[Scope], holder: Principal) -> None:
    """A key cannot hand out what it does not hold."""
    missing = sorted(requested - holder.scopes)
    if missing:
        raise Forbidden(f"a key cannot grant scopes it lacks: {', '.join(missing)}")
