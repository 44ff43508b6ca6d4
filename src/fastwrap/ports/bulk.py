"""Loading many snippets at once, all-or-nothing (bulk import, documents), and the index work
such loads leave for later."""

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


class GraphBacklog(Protocol):
    """Published snippets that the nearest-neighbour index does not hold yet.

    A bulk load publishes its rows at once and leaves their index inserts (most of its cost) to
    the graph workers, which run them on several connections. Searches find a waiting row all
    the same (by an exact comparison), so whether it is indexed yet changes what a search costs,
    never what it finds. A store without such an index (in memory; PostgreSQL above 4,000
    dimensions) keeps the same account, and clearing it costs next to nothing.
    """

    async def pending(self) -> int:
        """How many live snippets wait for their index insert."""

    async def index_some(self, limit: int) -> int:
        """Put up to `limit` waiting snippets into the index, in one step that concurrent
        callers never share rows with; how many (0: none was waiting)."""
