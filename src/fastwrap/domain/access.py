"""Use cases of SPEC §13's credentials: authenticate any key or token, manage named keys, issue
end-user tokens.

End-user tokens are random and stored as a digest, like keys, rather than signed: checking one
is the same cached lookup by digest as checking a key (no query when warm), no signing secret
has to be shared and rotated across replicas, and revocation needs no list of its own: the
lookup joins the token to its tenant, character and issuing key, and any change to those rows
already drops the cached answer on every replica (the change notices of cached.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID, uuid4

from fastwrap.domain.errors import Forbidden, Invalid, NotFound, Unauthorized
from fastwrap.domain.key_usage import KeyUsage
from fastwrap.domain.keys import (
    PREFIX_SHOWN,
    SCOPES,
    ApiKey,
    EndUserToken,
    Principal,
    Scope,
    check_scopes,
    credential_kind,
    primary,
)
from fastwrap.domain.model import check_conversation_id, check_end_user
from fastwrap.domain.storable import check_text
from fastwrap.ports.clock import Clock
from fastwrap.ports.keys import EndUserTokenStore, KeyStore
from fastwrap.ports.repositories import CharacterRepository
from fastwrap.ports.security import ApiKeys

REVOKED = "API key is missing, unknown or revoked"
EXPIRED = "API key has expired"
TOKEN_DEAD = "end-user token is unknown, expired or revoked"
TOKEN_TTL = (60, 86_400)
DEFAULT_TOKEN_TTL = 900
MAX_NAME = 100


@dataclass(frozen=True, slots=True)
class IssuedApiKey:
    """A named key with the key itself, which is shown this once."""

    key: ApiKey
    api_key: str


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """An end-user token with the token itself, which is shown this once."""

    token: EndUserToken
    secret: str


def check_key_scopes(scopes: Iterable[str]) -> frozenset[Scope]:
    chosen = list(scopes)
    unknown = sorted({s for s in chosen if s not in SCOPES})
    if unknown or not chosen:
        raise Invalid(f"scopes must be a non-empty list of {', '.join(SCOPES)}")
    return frozenset(s for s in SCOPES if s in chosen)


class AccessService:
    def __init__(
        self,
        *,
        keys: KeyStore,
        tokens: EndUserTokenStore,
        characters: CharacterRepository,
        secrets: ApiKeys,
        usage: KeyUsage,
        clock: Clock,
    ) -> None:
        self._keys = keys
        self._tokens = tokens
        self._characters = characters
        self._secrets = secrets
        self._usage = usage
        self._clock = clock

    async def authenticate(self, credential: str) -> Principal:
        """The caller a key or an end-user token stands for; Unauthorized if it is malformed,
        unknown, revoked, expired, or its client is inactive or deleted."""
        kind = credential_kind(credential)
        digest = self._secrets.digest(credential)
        now = self._clock.now()
        if kind == "token":
            found = await self._tokens.find(digest)
            if found is None or not found.client.is_active or found.token.expires_at <= now:
                raise Unauthorized(TOKEN_DEAD)
            token = found.token
            return Principal(
                client=found.client,
                key_id=token.key_id,
                scopes=frozenset(),
                expires_at=token.expires_at,
                token=token,
            )
        grant = await self._keys.find(digest)
        if grant is None or not grant.client.is_active:
            raise Unauthorized(REVOKED)
        key = grant.key
        if key is None:
            return primary(grant.client)
        if key.expires_at is not None and key.expires_at <= now:
            raise Unauthorized(EXPIRED)
        self._usage.note(key.id, now)
        return Principal(
            client=grant.client, key_id=key.id, scopes=key.scopes, expires_at=key.expires_at
        )

    async def create_key(
        self,
        holder: Principal,
        name: str,
        scopes: Iterable[str],
        expires_at: datetime | None = None,
    ) -> IssuedApiKey:
        """A new named key of the holder's client, with at most the holder's scopes and no
        longer a life than the holder's."""
        if not 1 <= len(name) <= MAX_NAME:
            raise Invalid(f"name must be 1-{MAX_NAME} characters")
        check_text("name", name)
        chosen = check_key_scopes(scopes)
        now = self._clock.now()
        if expires_at is not None and (expires_at.tzinfo is None or expires_at <= now):
            raise Invalid("expires_at must be a future time with a time zone")
        if holder.token is not None:
            raise Forbidden("an end-user token cannot create keys")
        check_scopes(chosen, holder)
        if holder.expires_at is not None and (expires_at is None or expires_at > holder.expires_at):
            raise Forbidden("a key cannot create a key that outlives it")
        secret = self._secrets.generate()
        key = ApiKey(
            id=uuid4(),
            client_id=holder.client.id,
            name=name,
            prefix=secret[:PREFIX_SHOWN],
            digest=self._secrets.digest(secret),
            scopes=chosen,
            created_at=now,
            expires_at=expires_at,
        )
        await self._keys.add(key)
        return IssuedApiKey(key, secret)

    async def list_keys(self, client_id: UUID) -> list[ApiKey]:
        return await self._keys.list(client_id)

    async def revoke_key(self, client_id: UUID, key_id: UUID) -> None:
        """Revoke at once, on every replica (the store's promise), with the tokens it issued."""
        if not await self._keys.revoke(client_id, key_id, self._clock.now()):
            raise NotFound("key not found")

    async def issue_token(
        self,
        holder: Principal,
        character_id: UUID,
        end_user: str,
        *,
        conversation_id: str | None = None,
        ttl: int = DEFAULT_TOKEN_TTL,
    ) -> IssuedToken:
        """A token to chat with one character as one end user (and one conversation, if
        given), for `ttl` seconds, but never past the issuing key's own expiry."""
        low, high = TOKEN_TTL
        if not low <= ttl <= high:
            raise Invalid(f"ttl must be {low}-{high} seconds")
        check_end_user(end_user)
        if conversation_id is not None:
            check_conversation_id(conversation_id)
        if holder.token is not None:
            raise Forbidden("an end-user token cannot issue tokens")
        client = holder.client
        if await self._characters.get(client.id, character_id) is None:
            raise NotFound("character not found")
        now = self._clock.now()
        expires_at = now + timedelta(seconds=ttl)
        if holder.expires_at is not None:
            expires_at = min(expires_at, holder.expires_at)
        secret = self._secrets.generate_token()
        token = EndUserToken(
            id=uuid4(),
            client_id=client.id,
            digest=self._secrets.digest(secret),
            character_id=character_id,
            end_user=end_user,
            conversation_id=conversation_id,
            created_at=now,
            expires_at=expires_at,
            key_id=holder.key_id,
            issuer_digest=client.key_digest if holder.key_id is None else None,
        )
        await self._tokens.add(token)
        return IssuedToken(token, secret)
