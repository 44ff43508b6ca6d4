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


class ClientRepository(Protocol):
    """Writes clients. Uniqueness (live email, case-insensitive; key digest) is the store's job."""

    async def add(self, client: Client) -> None:
        """Insert; raise Conflict if the email or key digest is taken by a live client."""

    async def add_first_admin(self, client: Client) -> None:
        """Insert an admin, atomically refusing (Conflict) if any live admin exists."""

    async def update(self, client: Client) -> None:
        """Replace a live client's fields; Conflict on a taken email, NotFound if gone."""

    async def delete(self, client_id: UUID, at: datetime) -> bool:
        """Soft-delete a live client with its characters and snippets in one step."""


class ClientReader(Protocol):
    """Reads live (not soft-deleted) clients."""

    async def get(self, client_id: UUID) -> Client | None: ...

    async def get_by_email(self, email: str) -> Client | None:
        """`email` is already normalised (lower case)."""

    async def get_by_key_digest(self, digest: str) -> Client | None: ...

    async def list_page(self, after: Cursor | None, limit: int) -> list[Client]:
        """Up to `limit` live clients ordered by (created_at, id), strictly after `after`."""


class CharacterRepository(Protocol):
    """A tenant's characters; every read is scoped to the tenant and ignores deleted rows."""

    async def add(self, character: Character) -> None: ...

    async def get(self, client_id: UUID, character_id: UUID) -> Character | None: ...

    async def list_page(self, client_id: UUID, after: Cursor | None, limit: int) -> list[Character]:
        """Up to `limit` live characters ordered by (created_at, id), strictly after `after`."""

    async def update(self, character: Character) -> None:
        """Replace a live character's fields; NotFound if it is gone."""

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
