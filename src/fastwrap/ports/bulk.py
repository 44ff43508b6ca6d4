"""Loading many snippets at once, all-or-nothing (bulk import, documents)."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Protocol
from uuid import UUID

from fastwrap.domain.model import EmbeddedSnippet


class SnippetStaging(Protocol):
    """Rows set aside for one tenant, invisible until published."""

    async def add(self, rows: Sequence[EmbeddedSnippet]) -> None:
        """Set rows aside (the caller has checked them and never repeats a key)."""

    async def publish(self, at: datetime) -> int:
        """Upsert every staged row in one atomic step, as VectorIndex.upsert would (a replaced
        snippet keeps its id and created_at); returns how many. NotFound if the tenant is gone.
        """


class BulkSnippetLoader(Protocol):
    def staging(self, client_id: UUID) -> AbstractAsyncContextManager[SnippetStaging]:
        """A staging area for `client_id`; leaving it unpublished (or on an error) discards
        everything it holds."""
