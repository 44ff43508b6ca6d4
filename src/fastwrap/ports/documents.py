"""Documents: reading and splitting uploads, and storing a document with its chunks."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol
from uuid import UUID

from fastwrap.domain.knowledge import Document, DocumentFormat
from fastwrap.domain.model import EmbeddedSnippet
from fastwrap.domain.pagination import Cursor


class DocumentReader(Protocol):
    """Text out of an upload, and that text in chunks. Both are CPU work: callers run them off
    the event loop."""

    def text_of(self, data: bytes, format: DocumentFormat) -> str:
        """The document's text; Invalid if the bytes are not a readable document of `format`."""

    def split(self, text: str, format: DocumentFormat, size: int, overlap: int) -> list[str]:
        """Chunks of at most `size` characters, consecutive ones sharing up to `overlap`."""


class DocumentStore(Protocol):
    """A tenant's documents; every read is scoped to the tenant and ignores deleted rows."""

    async def replace(self, document: Document, chunks: Sequence[EmbeddedSnippet]) -> Document:
        """Store the document and exactly these chunks in one atomic step: an earlier version
        (same entity_type and document_id) keeps its id and created_at, and its chunks beyond
        the new count are deleted. NotFound if the tenant is gone."""

    async def list_page(self, client_id: UUID, after: Cursor | None, limit: int) -> list[Document]:
        """Up to `limit` live documents ordered by (created_at, id), strictly after `after`."""

    async def delete(
        self, client_id: UUID, entity_type: str, document_id: str, at: datetime
    ) -> bool:
        """Soft-delete a live document and its chunks; False if there is none."""
