"""Use cases for a tenant's snippets: batched upsert, filtered semantic search, delete."""

from __future__ import annotations

import json
from collections.abc import Sequence
from uuid import UUID

from fastwrap.domain.errors import Invalid, NotFound
from fastwrap.domain.model import (
    ENTITY_ID_RE,
    ENTITY_TYPE_RE,
    SEARCH_MODES,
    EmbeddedSnippet,
    JsonObject,
    SearchHit,
    SearchMode,
    SearchQuery,
    Snippet,
    SnippetInput,
)
from fastwrap.domain.storable import check_json, check_text
from fastwrap.ports.clock import Clock
from fastwrap.ports.embeddings import Embedder
from fastwrap.ports.repositories import VectorIndex

MAX_BATCH = 100
MAX_CONTENT = 32_000
MAX_TOP_K = 50
MAX_METADATA_BYTES = 16_384
MAX_METADATA_DEPTH = 32


def check_entity(entity_type: str, entity_id: str) -> None:
    if not ENTITY_TYPE_RE.fullmatch(entity_type):
        raise Invalid("entity_type must be 1-64 characters of [A-Za-z0-9._:-]")
    if not ENTITY_ID_RE.fullmatch(entity_id):
        raise Invalid("entity_id must be 1-128 characters of [A-Za-z0-9._:@-]")


def _check_metadata(metadata: JsonObject) -> None:
    check_json("metadata", metadata, MAX_METADATA_DEPTH)
    size = len(json.dumps(metadata, ensure_ascii=False).encode())
    if size > MAX_METADATA_BYTES:
        raise Invalid(f"metadata must be at most {MAX_METADATA_BYTES} bytes of JSON")


def check_metadata(metadata: JsonObject) -> None:
    """The metadata rules of a snippet (depth, size), for other inputs that become snippets."""
    _check_metadata(metadata)


def _check_items(items: Sequence[SnippetInput]) -> None:
    if not 1 <= len(items) <= MAX_BATCH:
        raise Invalid(f"upsert takes 1-{MAX_BATCH} items")
    seen: set[tuple[str, str]] = set()
    for item in items:
        check_entity(item.entity_type, item.entity_id)
        if not 1 <= len(item.content) <= MAX_CONTENT:
            raise Invalid(f"content must be 1-{MAX_CONTENT} characters")
        check_text("content", item.content)
        _check_metadata(item.metadata)
        key = (item.entity_type, item.entity_id)
        if key in seen:
            raise Invalid(f"entity {item.entity_type}/{item.entity_id} appears twice in one batch")
        seen.add(key)


class VectorService:
    def __init__(self, *, index: VectorIndex, embedder: Embedder, clock: Clock) -> None:
        self._index = index
        self._embedder = embedder
        self._clock = clock

    async def upsert(self, client_id: UUID, items: Sequence[SnippetInput]) -> list[Snippet]:
        """Validate everything, embed the whole batch in one call, then store it atomically."""
        _check_items(items)
        vectors = await self._embedder.embed([item.content for item in items])
        rows = [
            EmbeddedSnippet(
                client_id=client_id,
                entity_type=item.entity_type,
                entity_id=item.entity_id,
                content=item.content,
                metadata=dict(item.metadata),
                embedding=vector,
                model=self._embedder.model,
            )
            for item, vector in zip(items, vectors, strict=True)
        ]
        return await self._index.upsert(rows, self._clock.now())

    async def search(
        self,
        client_id: UUID,
        text: str,
        *,
        top_k: int = 5,
        entity_types: Sequence[str] | None = None,
        metadata: JsonObject | None = None,
        mode: SearchMode = "vector",
        vector: tuple[float, ...] | None = None,
    ) -> list[SearchHit]:
        """`mode`: by meaning (vector), by words (keyword: nothing is embedded), or both
        fused by reciprocal rank (hybrid). `vector`: the text's embedding, when the caller
        has it already (by this service's embedder)."""
        if not 1 <= len(text) <= MAX_CONTENT:
            raise Invalid(f"query must be 1-{MAX_CONTENT} characters")
        check_text("query", text)
        if mode not in SEARCH_MODES:
            raise Invalid(f"mode must be one of {', '.join(SEARCH_MODES)}")
        if not 1 <= top_k <= MAX_TOP_K:
            raise Invalid(f"top_k must be between 1 and {MAX_TOP_K}")
        for entity_type in entity_types or ():
            if not ENTITY_TYPE_RE.fullmatch(entity_type):
                raise Invalid("entity_type must be 1-64 characters of [A-Za-z0-9._:-]")
        if metadata is not None:
            _check_metadata(metadata)
        embedding: tuple[float, ...] = ()
        if mode != "keyword":
            [embedding] = [vector] if vector is not None else await self._embedder.embed([text])
        query = SearchQuery(
            client_id=client_id,
            embedding=embedding,
            model=self._embedder.model,
            top_k=top_k,
            entity_types=tuple(entity_types) if entity_types else None,
            metadata=metadata or None,
            mode=mode,
            text=text,
        )
        return await self._index.search(query)

    async def delete(self, client_id: UUID, entity_type: str, entity_id: str) -> None:
        check_entity(entity_type, entity_id)
        if not await self._index.delete(client_id, entity_type, entity_id, self._clock.now()):
            raise NotFound("snippet not found")
