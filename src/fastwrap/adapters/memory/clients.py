"""In-memory clients, and the state every in-memory repository of one store shares.

The fakes mirror the PostgreSQL schema (adapters/postgres/migrations): rows are soft-deleted,
uniqueness is checked the way the constraints check it, and characters and snippets refer to an
existing client row (the foreign keys), so the contract suites hold for both adapters.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from typing import Any
from uuid import UUID

from fastwrap.domain.errors import Conflict, Invalid, NotFound
from fastwrap.domain.keys import ApiKey, EndUserToken
from fastwrap.domain.knowledge import Document
from fastwrap.domain.memory_items import MemoryItem
from fastwrap.domain.model import Character, Client, Snippet
from fastwrap.domain.pagination import Cursor
from fastwrap.domain.updates import ANY_CLIENT, KEEP, ClientCondition, ClientUpdate
from fastwrap.ports.repositories import ClientReader, ClientRepository

# The same words the PostgreSQL adapter uses for the same constraints.
EMAIL_TAKEN = "email is already registered"
KEY_TAKEN = "API key is already in use"
CLIENT_EXISTS = "client already exists"
ADMIN_EXISTS = "an admin already exists"
CLIENT_NOT_FOUND = "client not found"


@dataclass(slots=True)
class Record[T]:
    value: T
    deleted_at: datetime | None = None


@dataclass(slots=True)
class MemoryRow:
    """A memory item as the memory_items table holds it."""

    item: MemoryItem
    embedding: tuple[float, ...] | None = None
    model: str | None = None
    attempts: int = 0
    lease_until: datetime | None = None


@dataclass(slots=True)
class SnippetRecord:
    snippet: Snippet
    embedding: tuple[float, ...]
    deleted_at: datetime | None = None
    graph_pending: bool = False  # published by a bulk load, not "indexed" yet (ports.bulk)


@dataclass(slots=True)
class MemoryState:
    """All rows of one in-memory store: what the three PostgreSQL tables hold."""

    clients: dict[UUID, Record[Client]] = field(default_factory=dict)
    characters: dict[UUID, Record[Character]] = field(default_factory=dict)
    snippets: dict[UUID, SnippetRecord] = field(default_factory=dict)
    documents: dict[UUID, Record[Document]] = field(default_factory=dict)
    keys: dict[UUID, Record[ApiKey]] = field(default_factory=dict)
    tokens: dict[str, Record[EndUserToken]] = field(default_factory=dict)  # by digest
    memory: dict[UUID, MemoryRow] = field(default_factory=dict)

    def forget_memory(self, which: Callable[[MemoryItem], bool]) -> int:
        """Delete memory items for good (as PostgreSQL does: they have no deleted_at)."""
        gone = [key for key, row in self.memory.items() if which(row.item)]
        for key in gone:
            del self.memory[key]
        return len(gone)

    def require_client(self, client_id: UUID) -> None:
        """The foreign key: the client row must exist (live or not, as in PostgreSQL)."""
        if client_id not in self.clients:
            raise NotFound(CLIENT_NOT_FOUND)


def check_storable(*texts: str | None) -> None:
    """PostgreSQL's text type cannot hold a NUL character; it refuses the row (DataError)."""
    if any(text is not None and "\x00" in text for text in texts):
        raise Invalid("rejected by the database: text cannot contain NUL characters")


def as_jsonb(value: Any) -> Any:
    """What a jsonb round trip gives back, or Invalid where jsonb refuses (NaN, NUL)."""
    try:
        text = json.dumps(value, allow_nan=False)
    except ValueError as exc:
        raise Invalid("rejected by the database: JSON numbers must be finite") from exc
    if "\\u0000" in text:
        raise Invalid("rejected by the database: JSON cannot contain NUL characters")
    return json.loads(text)


def after_cursor(created_at: datetime, ident: UUID, after: Cursor | None) -> bool:
    return after is None or (created_at, ident) > (after.created_at, after.id)


# The fields a ClientUpdate may set (all of its fields).
UPDATABLE = tuple(f.name for f in fields(ClientUpdate))


def _matches(client: Client, condition: ClientCondition) -> bool:
    c = condition
    return (
        (c.key_digest is None or client.key_digest == c.key_digest)
        and (c.password_hash is None or client.password_hash == c.password_hash)
        and (c.is_active is None or client.is_active == c.is_active)
    )


def _as_read(record: Record[Client]) -> Client:
    """A client as a read returns it: with deleted_at when it is deleted."""
    if record.deleted_at is None:
        return record.value
    return replace(record.value, deleted_at=record.deleted_at)


class InMemoryClientRepository(ClientRepository, ClientReader):
    def __init__(self, state: MemoryState | None = None) -> None:
        self._state = state or MemoryState()

    def _live(self) -> list[Client]:
        return [r.value for r in self._state.clients.values() if r.deleted_at is None]

    def _check_unique(self, client: Client) -> None:
        check_storable(client.email, client.password_hash, client.key_digest)
        check_storable(client.subscription, client.store_name, client.phone)
        check_storable(*client.allowed_origins)
        email = client.email.lower()
        if any(c.email.lower() == email and c.id != client.id for c in self._live()):
            raise Conflict(EMAIL_TAKEN)
        # The key digest is unique over every row, deleted ones included.
        if any(
            r.value.key_digest == client.key_digest and r.value.id != client.id
            for r in self._state.clients.values()
        ):
            raise Conflict(KEY_TAKEN)

    async def add(self, client: Client) -> None:
        if client.id in self._state.clients:
            raise Conflict(CLIENT_EXISTS)
        self._check_unique(client)
        self._state.clients[client.id] = Record(client)

    async def add_first_admin(self, client: Client) -> None:
        if any(c.is_admin for c in self._live()):
            raise Conflict(ADMIN_EXISTS)
        await self.add(client)

    async def update(
        self, client_id: UUID, update: ClientUpdate, condition: ClientCondition = ANY_CLIENT
    ) -> Client | None:
        # No await between the read and the write: the update is atomic, as in PostgreSQL.
        record = self._state.clients.get(client_id)
        if record is None or record.deleted_at is not None or not _matches(record.value, condition):
            return None
        changes = {
            name: value for name in UPDATABLE if (value := getattr(update, name)) is not KEEP
        }
        updated = replace(record.value, **changes)
        self._check_unique(updated)
        record.value = updated
        return updated

    async def delete(self, client_id: UUID, at: datetime) -> bool:
        record = self._state.clients.get(client_id)
        if record is None or record.deleted_at is not None:
            return False
        record.deleted_at = at
        for character in self._state.characters.values():
            if character.value.client_id == client_id and character.deleted_at is None:
                character.deleted_at = at
        for snippet in self._state.snippets.values():
            if snippet.snippet.client_id == client_id and snippet.deleted_at is None:
                snippet.deleted_at = at
        owned: list[Record[Document] | Record[ApiKey] | Record[EndUserToken]] = [
            *self._state.documents.values(),
            *self._state.keys.values(),
            *self._state.tokens.values(),
        ]
        for row in owned:
            if row.value.client_id == client_id and row.deleted_at is None:
                row.deleted_at = at
        self._state.forget_memory(lambda item: item.client_id == client_id)
        return True

    async def get(self, client_id: UUID, *, include_deleted: bool = False) -> Client | None:
        record = self._state.clients.get(client_id)
        if record is None or (record.deleted_at is not None and not include_deleted):
            return None
        return _as_read(record)

    async def get_by_email(self, email: str) -> Client | None:
        wanted = email.lower()
        return next((c for c in self._live() if c.email.lower() == wanted), None)

    async def get_by_key_digest(self, digest: str) -> Client | None:
        return next((c for c in self._live() if c.key_digest == digest), None)

    async def any_allows_origin(self, origin: str) -> bool:
        return any(origin in c.allowed_origins and c.is_active for c in self._live())

    async def list_page(
        self, after: Cursor | None, limit: int, *, include_deleted: bool = False
    ) -> list[Client]:
        records = self._state.clients.values()
        rows = [
            _as_read(r)
            for r in records
            if (include_deleted or r.deleted_at is None)
            and after_cursor(r.value.created_at, r.value.id, after)
        ]
        rows.sort(key=lambda c: (c.created_at, c.id))
        return rows[: max(limit, 0)]
