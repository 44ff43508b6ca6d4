"""Key and token lookups served from memory while the change notices flow (as in cached.py).

A cached grant is filed under its tenant, so any announced change of that tenant's client row,
characters, keys or tokens drops it (migrations 0003 and 0010 announce them all). A revocation
made here returns only once every other replica has dropped the key: revoked means 401
everywhere, at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from uuid import UUID

from fastwrap.adapters.postgres.cached import TenantCache
from fastwrap.adapters.postgres.changes import ChangeFeed
from fastwrap.domain.keys import ApiKey, EndUserToken, KeyGrant, TokenGrant
from fastwrap.ports.keys import EndUserTokenStore, KeyStore


def _key_tenant(grant: KeyGrant) -> UUID:
    return grant.client.id


def _token_tenant(grant: TokenGrant) -> UUID:
    return grant.client.id


class CachedKeyStore(KeyStore):
    """Caches `find`; writes go to `inner`, and a revocation waits for every replica."""

    def __init__(self, inner: KeyStore, feed: ChangeFeed, max_entries: int) -> None:
        self._inner = inner
        self._feed = feed
        self._by_digest: TenantCache[str, KeyGrant] = TenantCache(feed, max_entries)

    async def find(self, digest: str) -> KeyGrant | None:
        return await self._by_digest.through(digest, lambda: self._inner.find(digest), _key_tenant)

    async def add(self, key: ApiKey) -> None:
        await self._inner.add(key)  # nothing cached can hide it: only found keys are kept

    async def list(self, client_id: UUID) -> list[ApiKey]:
        return await self._inner.list(client_id)

    async def revoke(self, client_id: UUID, key_id: UUID, at: datetime) -> bool:
        with self._feed.writing(client_id):
            revoked = await self._inner.revoke(client_id, key_id, at)
        if revoked:
            await self._feed.settle()
        return revoked

    async def touch(self, used: Mapping[UUID, datetime]) -> None:
        await self._inner.touch(used)  # announces nothing, evicts nothing


class CachedEndUserTokenStore(EndUserTokenStore):
    def __init__(self, inner: EndUserTokenStore, feed: ChangeFeed, max_entries: int) -> None:
        self._inner = inner
        self._by_digest: TenantCache[str, TokenGrant] = TenantCache(feed, max_entries)

    async def find(self, digest: str) -> TokenGrant | None:
        return await self._by_digest.through(
            digest, lambda: self._inner.find(digest), _token_tenant
        )

    async def add(self, token: EndUserToken) -> None:
        await self._inner.add(token)
