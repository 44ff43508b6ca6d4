"""Stores of record for clients, characters and snippets."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol
from uuid import UUID

from fastwrap.domain.model import (
    Character,
    Client,
    EmbeddedSnippet,
    SearchHit,
    SearchQuery,
    Snippet,
)
from fastwrap.domain.pagination import Cursor
from fastwrap.domain.updates import ANY_CLIENT, CharacterPatch, ClientCondition, ClientUpdate


class ClientRepository(Protocol):
    """Writes clients. Uniqueness (live email, case-insensitive; key digest) is the store's job."""

    async def add(self, client: Client) -> None:
        """Insert; raise Conflict if the email or key digest is taken by a live client."""

    async def add_first_admin(self, client: Client) -> None:
        """Insert an admin, atomically refusing (Conflict) if any live admin exists."""

    async def update(
        self, client_id: UUID, update: ClientUpdate, condition: ClientCondition = ANY_CLIENT
    ) -> Client | None:
        """Set the fields `update` names on a live client, in one atomic step, if the row still
        matches `condition`; the row as it then is, or None (no such live client, or it no
        longer matches). Conflict on a taken email."""

    async def delete(self, client_id: UUID, at: datetime) -> bool:
        """Soft-delete a live client with its characters and snippets in one step."""


class ClientReader(Protocol):
    """Reads live (not soft-deleted) clients; admins' reads may include deleted ones."""

    async def get(self, client_id: UUID, *, include_deleted: bool = False) -> Client | None: ...

    async def get_by_email(self, email: str) -> Client | None:
        """`email` is already normalised (lower case)."""

    async def get_by_key_digest(self, digest: str) -> Client | None: ...

    async def any_allows_origin(self, origin: str) -> bool:
        """Whether any live, active client lists `origin` in its allowed origins."""

    async def list_page(
        self, after: Cursor | None, limit: int, *, include_deleted: bool = False
    ) -> list[Client]:
        """Up to `limit` clients ordered by (created_at, id), strictly after `after`."""


class CharacterRepository(Protocol):
    """A tenant's characters; every read is scoped to the tenant and ignores deleted rows."""

    async def add(self, character: Character) -> None: ...

    async def get(self, client_id: UUID, character_id: UUID) -> Character | None: ...

    async def list_page(self, client_id: UUID, after: Cursor | None, limit: int) -> list[Character]:
        """Up to `limit` live characters ordered by (created_at, id), strictly after `after`."""

    async def named(self, client_id: UUID, name: str, limit: int) -> list[Character]:
        """Up to `limit` live characters whose name is exactly `name`, by (created_at, id)."""

    async def update(
        self, client_id: UUID, character_id: UUID, patch: CharacterPatch, at: datetime
    ) -> Character | None:
        """Set the fields `patch` names (and updated_at) on a live character in one atomic
        step; the row as it then is, or None if there is no such live character."""

    async def delete(self, client_id: UUID, character_id: UUID, at: datetime) -> bool: ...


class VectorIndex(Protocol):
    """Snippets with their embeddings, searched by cosine similarity within one tenant."""

    async def upsert(self, items: Sequence[EmbeddedSnippet], at: datetime) -> list[Snippet]:
        """Insert or replace by (client, entity_type, entity_id) in one atomic step.

        A replaced snippet keeps its id and created_at. Returns the stored snippets in input order.
        """

    async def search(self, query: SearchQuery) -> list[SearchHit]:
        """Best first; min(top_k, matching live rows) hits, whatever other tenants hold."""

    async def delete(
        self, client_id: UUID, entity_type: str, entity_id: str, at: datetime
    ) -> bool: ...
