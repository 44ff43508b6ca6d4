"""Key and character lookups served from memory while the database's change notices flow.

Every API request looks its key up, and every chat turn its character: two queries that almost
always return what they returned a moment ago. These wrappers keep the answers in this process
and drop them when the database announces a change to that tenant (changes.py), or at once
when this process makes the change itself (before and after it, caching nothing of that tenant
in between). A client write returns only once every other process has dropped the old row, so
a revoked key, a deactivation or a demotion holds on every replica when it is acknowledged.
Only found rows are kept: a key or a character that is created later is never hidden by a
cached "not found". When the notices stop, the caches are bypassed until they are back.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable
from datetime import datetime
from uuid import UUID

from fastwrap.adapters.bundles import ClientStore
from fastwrap.adapters.postgres.changes import ChangeFeed
from fastwrap.domain.model import Character, Client
from fastwrap.domain.pagination import Cursor
from fastwrap.domain.updates import ANY_CLIENT, CharacterPatch, ClientCondition, ClientUpdate
from fastwrap.ports.repositories import CharacterRepository


class TenantCache[K: Hashable, V]:
    """At most `max_entries` values, each filed under its tenant, emptied as `feed` says."""

    def __init__(self, feed: ChangeFeed, max_entries: int) -> None:
        self._feed = feed
        self._max = max_entries
        self._entries: dict[K, tuple[UUID, V]] = {}
        self._by_tenant: dict[UUID, set[K]] = {}
        feed.subscribe(self.evict)

    def __len__(self) -> int:
        return len(self._entries)

    async def through(
        self, key: K, load: Callable[[], Awaitable[V | None]], tenant: Callable[[V], UUID]
    ) -> V | None:
        feed = self._feed
        if feed.fresh:
            hit = self._entries.get(key)
            if hit is not None:
                return hit[1]
        generation = feed.generation
        value = await load()
        # Kept only if no change was announced while we asked (the answer may predate it) and
        # no write of this tenant is in flight here (the answer may predate its commit).
        if (
            value is not None
            and feed.fresh
            and feed.generation == generation
            and not feed.is_writing(owner := tenant(value))
        ):
            self._put(key, owner, value)
        return value

    def _put(self, key: K, tenant: UUID, value: V) -> None:
        if key not in self._entries and len(self._entries) >= self._max:
            oldest = next(iter(self._entries))  # insertion order: the oldest entry goes first
            self._forget(oldest)
        self._entries[key] = (tenant, value)
        self._by_tenant.setdefault(tenant, set()).add(key)

    def _forget(self, key: K) -> None:
        tenant, _ = self._entries.pop(key)
        keys = self._by_tenant[tenant]
        keys.discard(key)
        if not keys:
            del self._by_tenant[tenant]

    def evict(self, tenant: UUID | None) -> None:
        if tenant is None:
            self._entries.clear()
            self._by_tenant.clear()
            return
        for key in self._by_tenant.pop(tenant, ()):
            self._entries.pop(key, None)


def _client_id(client: Client) -> UUID:
    return client.id


def _tenant(character: Character) -> UUID:
    return character.client_id


class CachedClientStore(ClientStore):
    """Caches the lookups by key digest and of live clients by id (what every turn's budget
    check reads); everything else goes straight to `inner`."""

    def __init__(self, inner: ClientStore, feed: ChangeFeed, max_entries: int) -> None:
        self._inner = inner
        self._feed = feed
        self._by_digest: TenantCache[str, Client] = TenantCache(feed, max_entries)
        self._by_id: TenantCache[UUID, Client] = TenantCache(feed, max_entries)

    async def get_by_key_digest(self, digest: str) -> Client | None:
        return await self._by_digest.through(
            digest, lambda: self._inner.get_by_key_digest(digest), _client_id
        )

    async def add(self, client: Client) -> None:
        await self._inner.add(client)

    async def add_first_admin(self, client: Client) -> None:
        await self._inner.add_first_admin(client)

    async def update(
        self, client_id: UUID, update: ClientUpdate, condition: ClientCondition = ANY_CLIENT
    ) -> Client | None:
        with self._feed.writing(client_id):
            updated = await self._inner.update(client_id, update, condition)
        if updated is not None:  # a key, a flag or a password changed: every replica must know
            await self._feed.settle()
        return updated

    async def delete(self, client_id: UUID, at: datetime) -> bool:
        with self._feed.writing(client_id):
            deleted = await self._inner.delete(client_id, at)
        if deleted:
            await self._feed.settle()
        return deleted

    async def get(self, client_id: UUID, *, include_deleted: bool = False) -> Client | None:
        if include_deleted:
            return await self._inner.get(client_id, include_deleted=True)
        return await self._by_id.through(client_id, lambda: self._inner.get(client_id), _client_id)

    async def get_by_email(self, email: str) -> Client | None:
        return await self._inner.get_by_email(email)

    async def list_page(
        self, after: Cursor | None, limit: int, *, include_deleted: bool = False
    ) -> list[Client]:
        return await self._inner.list_page(after, limit, include_deleted=include_deleted)

    async def any_allows_origin(self, origin: str) -> bool:
        # Only preflights ask, and browsers keep their answer (Access-Control-Max-Age).
        return await self._inner.any_allows_origin(origin)


class CachedCharacterRepository(CharacterRepository):
    """Caches the lookup of one character (every chat turn's); lists go to `inner`.

    A character update does not wait for the other processes: it revokes nothing, and they drop
    the old row as its notice arrives (within a millisecond, or the lease). A deletion waits,
    as a key revocation does: it revokes the character's end-user tokens."""

    def __init__(self, inner: CharacterRepository, feed: ChangeFeed, max_entries: int) -> None:
        self._inner = inner
        self._feed = feed
        self._by_id: TenantCache[tuple[UUID, UUID], Character] = TenantCache(feed, max_entries)

    async def get(self, client_id: UUID, character_id: UUID) -> Character | None:
        return await self._by_id.through(
            (client_id, character_id),
            lambda: self._inner.get(client_id, character_id),
            _tenant,
        )

    async def add(self, character: Character) -> None:
        await self._inner.add(character)

    async def list_page(self, client_id: UUID, after: Cursor | None, limit: int) -> list[Character]:
        return await self._inner.list_page(client_id, after, limit)

    async def named(self, client_id: UUID, name: str, limit: int) -> list[Character]:
        return await self._inner.named(client_id, name, limit)

    async def update(
        self, client_id: UUID, character_id: UUID, patch: CharacterPatch, at: datetime
    ) -> Character | None:
        with self._feed.writing(client_id):
            return await self._inner.update(client_id, character_id, patch, at)

    async def delete(self, client_id: UUID, character_id: UUID, at: datetime) -> bool:
        with self._feed.writing(client_id):
            deleted = await self._inner.delete(client_id, character_id, at)
        if deleted:  # its end-user tokens die with it, on every replica, when this returns
            await self._feed.settle()
        return deleted
