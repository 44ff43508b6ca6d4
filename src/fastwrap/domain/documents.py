"""Documents (SPEC §15): an upload split into snippets `document_id#n`, replaced as a whole.

Small documents are read, split, embedded and stored while the caller waits; larger ones
(over `inline_max_bytes`) become a job in the durable queue, done by the worker in the
background, with progress in chunks embedded. Either way the document and all its chunks are
stored in one step at the end, so a search sees the old version or the new one, never a mix.
"""

from __future__ import annotations

import asyncio
import json
from array import array
from collections.abc import Sequence
from uuid import UUID, uuid4

from fastwrap.domain.errors import Invalid, NotFound
from fastwrap.domain.jobs import Doorbell, Progress
from fastwrap.domain.knowledge import (
    DOCUMENT_FORMATS,
    ClaimedJob,
    Document,
    DocumentSource,
    Job,
    NewJob,
)
from fastwrap.domain.model import ENTITY_ID_RE, ENTITY_TYPE_RE, EmbeddedSnippet, JsonObject, Page
from fastwrap.domain.pagination import Cursor, check_limit, page_of
from fastwrap.domain.vectors import check_metadata
from fastwrap.ports.clock import Clock
from fastwrap.ports.documents import DocumentReader, DocumentStore
from fastwrap.ports.embeddings import Embedder
from fastwrap.ports.jobs import JobQueue

JOB_KIND = "document"
MAX_DOCUMENT_ID = 120  # room for "#n" within an entity_id's 128 characters
MIN_CHUNK, MAX_CHUNK = 100, 8000
EMBED_BATCH = 100  # chunks per progress step
MAX_CHUNKS = 20_000


def check_source(source: DocumentSource) -> None:
    if not ENTITY_TYPE_RE.fullmatch(source.entity_type):
        raise Invalid("entity_type must be 1-64 characters of [A-Za-z0-9._:-]")
    if len(source.document_id) > MAX_DOCUMENT_ID or not ENTITY_ID_RE.fullmatch(source.document_id):
        raise Invalid(f"document_id must be 1-{MAX_DOCUMENT_ID} characters of [A-Za-z0-9._:@-]")
    if source.format not in DOCUMENT_FORMATS:
        raise Invalid(f"format must be one of {', '.join(DOCUMENT_FORMATS)}")
    if not MIN_CHUNK <= source.chunk_size <= MAX_CHUNK:
        raise Invalid(f"chunk_size must be {MIN_CHUNK}-{MAX_CHUNK} characters")
    if not 0 <= source.chunk_overlap <= source.chunk_size // 2:
        raise Invalid("chunk_overlap must be between 0 and half of chunk_size")
    if source.source is not None and (len(source.source) > 255 or "\x00" in source.source):
        raise Invalid("the file name must be at most 255 characters, without NUL")
    if not source.data:
        raise Invalid("the document is empty")
    check_metadata(source.metadata)
    try:
        text = json.dumps(source.metadata, allow_nan=False)
    except ValueError:
        raise Invalid("metadata numbers must be finite (no NaN or Infinity)") from None
    if "\\u0000" in text:
        raise Invalid("metadata cannot contain NUL characters")
    for reserved in ("document_id", "chunk"):
        if reserved in source.metadata:
            raise Invalid(f"metadata.{reserved} is set by FastWrap on every chunk")


def _payload(source: DocumentSource) -> JsonObject:
    return {
        "entity_type": source.entity_type,
        "document_id": source.document_id,
        "format": source.format,
        "source": source.source,
        "metadata": dict(source.metadata),
        "chunk_size": source.chunk_size,
        "chunk_overlap": source.chunk_overlap,
    }


def source_of(job: ClaimedJob) -> DocumentSource:
    p = job.payload
    return DocumentSource(
        entity_type=p["entity_type"],
        document_id=p["document_id"],
        format=p["format"],
        data=job.data,
        source=p["source"],
        metadata=p["metadata"],
        chunk_size=p["chunk_size"],
        chunk_overlap=p["chunk_overlap"],
    )


def document_result(document: Document) -> JsonObject:
    """What a finished document job reports (JSON values)."""
    return {
        "id": str(document.id),
        "entity_type": document.entity_type,
        "document_id": document.document_id,
        "chunks": document.chunks,
        "characters": document.characters,
    }


class DocumentService:
    def __init__(
        self,
        *,
        store: DocumentStore,
        reader: DocumentReader,
        embedder: Embedder,
        jobs: JobQueue,
        clock: Clock,
        inline_max_bytes: int = 262_144,
        doorbell: Doorbell | None = None,
        graph_doorbell: Doorbell | None = None,
    ) -> None:
        """`doorbell` is rung when a job is queued; `graph_doorbell` when a document's chunks
        are stored (they wait for the graph workers to index them, searchable meanwhile)."""
        self._graph_doorbell = graph_doorbell
        self._store = store
        self._reader = reader
        self._embedder = embedder
        self._jobs = jobs
        self._clock = clock
        self._inline_max = inline_max_bytes
        self._doorbell = doorbell

    async def add(self, client_id: UUID, source: DocumentSource) -> Document | Job:
        """Store a document now, or queue it as a job when it is larger than the inline limit."""
        check_source(source)
        if len(source.data) <= self._inline_max:
            return await self.ingest(client_id, source)
        job = NewJob(
            id=uuid4(), client_id=client_id, kind=JOB_KIND, payload=_payload(source),
            data=source.data,
        )  # fmt: skip
        queued = await self._jobs.enqueue(job, self._clock.now())
        if self._doorbell is not None:
            self._doorbell.ring()
        return queued

    async def ingest(
        self, client_id: UUID, source: DocumentSource, progress: Progress | None = None
    ) -> Document:
        """Read, split, embed (reporting chunks done) and store, whatever the size."""
        check_source(source)
        text = await asyncio.to_thread(self._reader.text_of, source.data, source.format)
        pieces = await asyncio.to_thread(
            self._reader.split, text, source.format, source.chunk_size, source.chunk_overlap
        )
        if not pieces:
            raise Invalid("the document holds no text")
        if len(pieces) > MAX_CHUNKS:
            raise Invalid(f"the document splits into more than {MAX_CHUNKS} chunks")
        vectors = await self._embed(pieces, progress)
        now = self._clock.now()
        document = Document(
            id=uuid4(), client_id=client_id, entity_type=source.entity_type,
            document_id=source.document_id, format=source.format, source=source.source,
            metadata=dict(source.metadata), chunks=len(pieces), characters=len(text),
            chunk_size=source.chunk_size, chunk_overlap=source.chunk_overlap,
            created_at=now, updated_at=now,
        )  # fmt: skip
        stored = await self._store.replace(document, self._chunks(document, pieces, vectors))
        if self._graph_doorbell is not None:
            self._graph_doorbell.ring()
        return stored

    async def _embed(self, pieces: list[str], progress: Progress | None) -> list[array[float]]:
        vectors: list[array[float]] = []
        for start in range(0, len(pieces), EMBED_BATCH):
            batch = await self._embedder.embed(pieces[start : start + EMBED_BATCH])
            vectors += (array("f", vector) for vector in batch)
            if progress is not None:
                await progress(len(vectors), len(pieces))
        return vectors

    def _chunks(
        self, document: Document, pieces: Sequence[str], vectors: Sequence[array[float]]
    ) -> list[EmbeddedSnippet]:
        return [
            EmbeddedSnippet(
                client_id=document.client_id, entity_type=document.entity_type,
                entity_id=f"{document.document_id}#{n}", content=piece,
                metadata={**document.metadata, "document_id": document.document_id, "chunk": n},
                embedding=vector, model=self._embedder.model,
            )
            for n, (piece, vector) in enumerate(zip(pieces, vectors, strict=True))
        ]  # fmt: skip

    async def list_page(
        self, client_id: UUID, *, limit: int = 50, cursor: str | None = None
    ) -> Page[Document]:
        check_limit(limit)
        after = Cursor.decode(cursor) if cursor else None
        rows = await self._store.list_page(client_id, after, limit + 1)
        return page_of(rows, limit, lambda d: Cursor(created_at=d.created_at, id=d.id))

    async def delete(self, client_id: UUID, entity_type: str, document_id: str) -> None:
        if not await self._store.delete(client_id, entity_type, document_id, self._clock.now()):
            raise NotFound("document not found")


class DocumentJob:
    """The worker's handler for document jobs."""

    def __init__(self, documents: DocumentService) -> None:
        self._documents = documents

    async def __call__(self, job: ClaimedJob, progress: Progress) -> JsonObject:
        document = await self._documents.ingest(job.job.client_id, source_of(job), progress)
        return {"document": document_result(document)}
