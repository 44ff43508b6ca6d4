"""An exact in-memory vector index with the semantics of the pgvector one.

Cosine distance as pgvector computes it (similarity clamped to [-1, 1]); metadata filters with the
semantics of jsonb `@>`; a zero vector has no direction, so it neither matches nor is matched
(pgvector's HNSW index leaves such rows out, and its distance to anything is NaN).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

import numpy as np

from fastwrap.adapters.memory.clients import (
    MemoryState,
    SnippetRecord,
    as_jsonb,
    check_storable,
)
from fastwrap.adapters.memory.ranking import fuse, relevance, words
from fastwrap.domain.errors import Invalid
from fastwrap.domain.model import EmbeddedSnippet, JsonObject, SearchHit, SearchQuery, Snippet
from fastwrap.ports.repositories import VectorIndex

DUPLICATE_IN_BATCH = "an entity appears twice in one batch"


def jsonb_contains(target: Any, query: Any) -> bool:
    """`target @> query` for JSON values, as PostgreSQL's jsonb defines it."""
    if isinstance(query, Mapping):
        return isinstance(target, Mapping) and all(
            key in target and jsonb_contains(target[key], value) for key, value in query.items()
        )
    if isinstance(query, list):
        return isinstance(target, list) and all(
            any(jsonb_contains(element, wanted) for element in target) for wanted in query
        )
    if isinstance(target, Mapping | list):
        return False
    # JSON has no int/bool kinship: true is not 1, whatever Python thinks.
    if isinstance(query, bool) or isinstance(target, bool):
        return type(query) is type(target) and query == target
    return bool(query == target)


def cosine_distance(a: np.ndarray[Any, Any], b: np.ndarray[Any, Any]) -> float:
    norms = float(np.linalg.norm(a)) * float(np.linalg.norm(b))
    if norms == 0.0:
        return math.nan
    similarity = min(1.0, max(-1.0, float(np.dot(a, b)) / norms))
    return 1.0 - similarity


class InMemoryVectorIndex(VectorIndex):
    def __init__(self, state: MemoryState | None = None) -> None:
        self._state = state or MemoryState()

    def _live_by_key(self) -> dict[tuple[UUID, str, str], SnippetRecord]:
        """Live snippets by their upsert key (the partial unique index, in PostgreSQL)."""
        return {
            (r.snippet.client_id, r.snippet.entity_type, r.snippet.entity_id): r
            for r in self._state.snippets.values()
            if r.deleted_at is None
        }

    def _live(self, client_id: UUID, entity_type: str, entity_id: str) -> SnippetRecord | None:
        return self._live_by_key().get((client_id, entity_type, entity_id))

    async def upsert(self, items: Sequence[EmbeddedSnippet], at: datetime) -> list[Snippet]:
        keys = [(i.client_id, i.entity_type, i.entity_id) for i in items]
        if len(set(keys)) != len(items):
            raise Invalid(DUPLICATE_IN_BATCH)
        stored = []
        for item in items:  # check everything before writing anything: one atomic step
            check_storable(item.entity_type, item.entity_id, item.content, item.model)
            stored.append(dict(as_jsonb(item.metadata)))
            self._state.require_client(item.client_id)
        live = self._live_by_key()
        return [
            self._upsert_one(item, metadata, live.get(key), at)
            for item, metadata, key in zip(items, stored, keys, strict=True)
        ]

    def _upsert_one(
        self,
        item: EmbeddedSnippet,
        metadata: JsonObject,
        current: SnippetRecord | None,
        at: datetime,
    ) -> Snippet:
        snippet = Snippet(
            id=current.snippet.id if current else uuid4(),
            client_id=item.client_id,
            entity_type=item.entity_type,
            entity_id=item.entity_id,
            content=item.content,
            metadata=metadata,
            model=item.model,
            created_at=current.snippet.created_at if current else at,
            updated_at=at,
        )
        self._state.snippets[snippet.id] = SnippetRecord(snippet, tuple(item.embedding))
        return snippet

    def _matches(self, record: SnippetRecord, query: SearchQuery) -> bool:
        s = record.snippet
        return (
            record.deleted_at is None
            and s.client_id == query.client_id
            and s.model == query.model
            and (query.entity_types is None or s.entity_type in query.entity_types)
            and (query.metadata is None or jsonb_contains(s.metadata, query.metadata))
        )

    async def search(self, query: SearchQuery) -> list[SearchHit]:
        check_storable(query.model, query.text, *(query.entity_types or ()))
        if query.metadata is not None:
            as_jsonb(query.metadata)
        rows = [r.snippet for r in self._state.snippets.values() if self._matches(r, query)]
        if query.mode == "keyword":
            return self._by_words(rows, query)[: max(query.top_k, 0)]
        by_vector = self._by_vector(rows, query)
        if query.mode == "vector":
            return by_vector[: max(query.top_k, 0)]
        return self._fused(by_vector, self._by_words(rows, query), query)

    def _by_vector(self, rows: list[Snippet], query: SearchQuery) -> list[SearchHit]:
        wanted = np.asarray(query.embedding, dtype=np.float64)
        scored: list[tuple[float, UUID, Snippet]] = []
        for snippet in rows:
            stored = np.asarray(self._state.snippets[snippet.id].embedding, dtype=np.float64)
            distance = cosine_distance(stored, wanted)
            if not math.isnan(distance):
                scored.append((distance, snippet.id, snippet))
        scored.sort(key=lambda hit: (hit[0], hit[1]))
        return [SearchHit(snippet=s, score=1.0 - d, distance=d) for d, _, s in scored]

    def _by_words(self, rows: list[Snippet], query: SearchQuery) -> list[SearchHit]:
        asked = words(query.text or "")
        scored = [(relevance(asked, s.content), s.id, s) for s in rows]
        hits = [(-score, ident, s) for score, ident, s in scored if score > 0]
        hits.sort(key=lambda hit: (hit[0], hit[1]))
        return [SearchHit(snippet=s, score=-score, distance=None) for score, _, s in hits]

    def _fused(
        self, by_vector: list[SearchHit], by_words: list[SearchHit], query: SearchQuery
    ) -> list[SearchHit]:
        distances = {hit.snippet.id: hit for hit in by_vector}
        snippets = {hit.snippet.id: hit.snippet for hit in (*by_vector, *by_words)}
        fused = fuse(
            [h.snippet.id for h in by_vector], [h.snippet.id for h in by_words], query.top_k
        )
        wanted = np.asarray(query.embedding, dtype=np.float64)
        hits = []
        for item in fused:
            known = distances.get(item.key)
            stored = np.asarray(self._state.snippets[item.key].embedding, dtype=np.float64)
            distance = known.distance if known else cosine_distance(stored, wanted)
            hits.append(
                SearchHit(
                    snippet=snippets[item.key],
                    score=item.score,
                    distance=distance,
                    vector_rank=item.vector_rank,
                    keyword_rank=item.keyword_rank,
                )
            )
        return hits

    async def delete(self, client_id: UUID, entity_type: str, entity_id: str, at: datetime) -> bool:
        record = self._live(client_id, entity_type, entity_id)
        if record is None:
            return False
        record.deleted_at = at
        return True
