"""Stores of record for named API keys and end-user tokens (SPEC §13)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Protocol
from uuid import UUID

from fastwrap.domain.keys import ApiKey, EndUserToken, KeyGrant, TokenGrant


class KeyStore(Protocol):
    """A tenant's named keys, and the lookup of any key (primary or named) by digest."""

    async def add(self, key: ApiKey) -> None:
        """Insert; Conflict if the digest is taken, NotFound("client not found") if the
        tenant does not exist."""

    async def list(self, client_id: UUID) -> list[ApiKey]:
        """The tenant's unrevoked keys (expired ones included), oldest first."""

    async def revoke(self, client_id: UUID, key_id: UUID, at: datetime) -> bool:
        """Revoke an unrevoked key of this tenant; False if there is none. Once this returns,
        no process finds the key any more."""

    async def find(self, digest: str) -> KeyGrant | None:
        """The live (not deleted) client whose primary key, or whose unrevoked named key, has
        this digest. Expiry and the client's `is_active` are the caller's to check."""

    async def touch(self, used: Mapping[UUID, datetime]) -> None:
        """Record when keys were last used; a key's `last_used_at` moves only forward, and only
        when it moves by at least a minute (so replicas do not write it on every use)."""


class EndUserTokenStore(Protocol):
    """End-user tokens, found by digest while their tenant, character and issuer live."""

    async def add(self, token: EndUserToken) -> None:
        """Insert; NotFound("client not found") if the tenant does not exist."""

    async def find(self, digest: str) -> TokenGrant | None:
        """The token with its live client, while its character is live and its issuing key is
        unrevoked (a named key) or still the client's primary key. Expiry is the caller's."""
