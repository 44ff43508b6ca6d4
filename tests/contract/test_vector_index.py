"""The vector index contract, held by the exact in-memory index and by pgvector alike."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from fastwrap.adapters.bundles import Storage
from fastwrap.domain.errors import Invalid, NotFound
from fastwrap.domain.model import EmbeddedSnippet, JsonObject, SearchQuery
from tests.contract import seeds

T0 = datetime(2026, 1, 1, 12, 0, 0, 111111, tzinfo=UTC)
T1 = T0 + timedelta(minutes=1)
MODEL = "hashing-v1"
X = (1.0, 0.0, 0.0, 0.0)


@pytest.fixture
def pg_embedding_dim() -> int:
    return 4


async def add_client(storage: Storage) -> UUID:
    return await seeds.add_client(storage, T0)


def item(
    client_id: UUID, entity_id: str, embedding: tuple[float, ...], **extra: Any
) -> EmbeddedSnippet:
    values: dict[str, Any] = {
        "client_id": client_id,
        "entity_type": "doc",
        "entity_id": entity_id,
        "content": f"content of {entity_id}",
        "metadata": {},
        "embedding": embedding,
        "model": MODEL,
    }
    values.update(extra)
    return EmbeddedSnippet(**values)


def query(client_id: UUID, embedding: tuple[float, ...] = X, **extra: Any) -> SearchQuery:
    values: dict[str, Any] = {"client_id": client_id, "embedding": embedding, "model": MODEL}
    values.update({"top_k": 10, **extra})
    return SearchQuery(**values)


async def found(storage: Storage, search: SearchQuery) -> list[str]:
    return [hit.snippet.entity_id for hit in await storage.vectors.search(search)]


async def test_upsert_returns_the_stored_snippets_in_input_order(storage: Storage) -> None:
    owner = await add_client(storage)
    items = [item(owner, f"e{n}", X, metadata={"n": n}) for n in (3, 1, 2)]

    stored = await storage.vectors.upsert(items, T0)

    assert [(s.entity_id, s.metadata, s.content) for s in stored] == [
        ("e3", {"n": 3}, "content of e3"),
        ("e1", {"n": 1}, "content of e1"),
        ("e2", {"n": 2}, "content of e2"),
    ]
    assert len({s.id for s in stored}) == 3
    assert all(s.client_id == owner and s.model == MODEL for s in stored)
    assert all(s.created_at == T0 and s.updated_at == T0 for s in stored)


async def test_a_reupsert_replaces_the_snippet_but_keeps_id_and_created_at(
    storage: Storage,
) -> None:
    owner = await add_client(storage)
    [first] = await storage.vectors.upsert([item(owner, "e1", X, metadata={"v": 1})], T0)
    replacement = item(owner, "e1", (0.0, 1.0, 0.0, 0.0), content="new", metadata={"v": 2})

    [second, fresh] = await storage.vectors.upsert([replacement, item(owner, "e2", X)], T1)

    assert (second.id, second.created_at, second.updated_at) == (first.id, T0, T1)
    assert (second.content, second.metadata) == ("new", {"v": 2})
    assert fresh.created_at == T1
    [best, *_] = await storage.vectors.search(query(owner, (0.0, 1.0, 0.0, 0.0)))
    assert (best.snippet, best.distance) == (second, pytest.approx(0.0, abs=1e-6))


async def test_hits_come_best_first_with_cosine_score_and_distance(storage: Storage) -> None:
    owner = await add_client(storage)
    vectors = {
        "same": X,
        "diagonal": (1.0, 1.0, 0.0, 0.0),
        "orthogonal": (0.0, 0.0, 3.0, 0.0),
        "opposite": (-2.0, 0.0, 0.0, 0.0),
    }
    await storage.vectors.upsert([item(owner, k, v) for k, v in vectors.items()], T0)

    hits = await storage.vectors.search(query(owner, (5.0, 0.0, 0.0, 0.0)))

    assert [h.snippet.entity_id for h in hits] == ["same", "diagonal", "orthogonal", "opposite"]
    expected = [0.0, 1 - 1 / math.sqrt(2), 1.0, 2.0]
    assert [h.distance for h in hits] == pytest.approx(expected, abs=1e-6)
    assert [h.score for h in hits] == pytest.approx([1 - d for d in expected], abs=1e-6)


async def test_a_search_returns_min_of_top_k_and_matching_rows(storage: Storage) -> None:
    owner = await add_client(storage)
    rows = [item(owner, f"e{n}", (1.0, n / 100, 0.0, 0.0)) for n in range(100)]
    assert len(await storage.vectors.upsert(rows, T0)) == 100

    assert await found(storage, query(owner, top_k=3)) == ["e0", "e1", "e2"]
    assert len(await found(storage, query(owner, top_k=50))) == 50
    assert len(await found(storage, query(owner, top_k=50, entity_types=("doc",)))) == 50
    assert await found(storage, query(owner, top_k=50, entity_types=("faq",))) == []


async def test_only_the_tenants_live_rows_of_the_query_model_match(storage: Storage) -> None:
    owner, other = await add_client(storage), await add_client(storage)
    await storage.vectors.upsert(
        [
            item(owner, "mine", (1.0, 0.2, 0.0, 0.0)),
            item(owner, "old-model", X, model="text-embedding-3-small"),
            item(owner, "deleted", X),
            item(other, "theirs", X),
        ],
        T0,
    )
    assert await storage.vectors.delete(owner, "doc", "deleted", T1) is True

    assert await found(storage, query(owner)) == ["mine"]
    assert await found(storage, query(other)) == ["theirs"]


async def test_entity_types_filter_the_hits(storage: Storage) -> None:
    owner = await add_client(storage)
    await storage.vectors.upsert(
        [item(owner, "a", X, entity_type=t) for t in ("faq", "docs", "notes")], T0
    )

    hits = await storage.vectors.search(query(owner, entity_types=("faq", "notes")))

    assert sorted(h.snippet.entity_type for h in hits) == ["faq", "notes"]


METADATA: JsonObject = {
    "lang": "en",
    "tags": ["a", "b"],
    "n": 1,
    "flag": True,
    "nested": {"x": 1, "y": [1, 2]},
}


@pytest.mark.parametrize(
    ("wanted", "matches"),
    [
        ({"lang": "en"}, True),
        ({"lang": "EN"}, False),
        ({"lang": "en", "n": 1}, True),
        ({"n": 1.0}, True),
        ({"n": True}, False),
        ({"flag": True}, True),
        ({"flag": 1}, False),
        ({"tags": ["b"]}, True),
        ({"tags": ["b", "a", "b"]}, True),
        ({"tags": ["c"]}, False),
        ({"tags": "a"}, False),
        ({"nested": {"x": 1}}, True),
        ({"nested": {"y": [2]}}, True),
        ({"nested": {"x": 2}}, False),
        ({"missing": None}, False),
    ],
)
async def test_metadata_filters_by_jsonb_containment(
    storage: Storage, wanted: JsonObject, matches: bool
) -> None:
    owner = await add_client(storage)
    await storage.vectors.upsert([item(owner, "a", X, metadata=METADATA)], T0)

    assert await found(storage, query(owner, metadata=wanted)) == (["a"] if matches else [])


async def test_a_deleted_snippet_is_gone_and_comes_back_as_a_new_one(storage: Storage) -> None:
    owner = await add_client(storage)
    [first] = await storage.vectors.upsert([item(owner, "a", X)], T0)

    assert await storage.vectors.delete(owner, "doc", "a", T1) is True
    assert await storage.vectors.delete(owner, "doc", "a", T1) is False
    assert await storage.vectors.delete(owner, "doc", "never", T1) is False
    assert await found(storage, query(owner)) == []

    [again] = await storage.vectors.upsert([item(owner, "a", X)], T1)
    assert again.id != first.id
    assert again.created_at == T1
    assert await found(storage, query(owner)) == ["a"]


async def test_a_bad_batch_writes_nothing(storage: Storage) -> None:
    owner = await add_client(storage)

    with pytest.raises(Invalid):
        await storage.vectors.upsert([item(owner, "a", X), item(owner, "a", X)], T0)
    with pytest.raises(NotFound):
        await storage.vectors.upsert([item(owner, "b", X), item(uuid4(), "c", X)], T0)

    assert await found(storage, query(owner)) == []


async def test_a_zero_vector_neither_matches_nor_is_matched(storage: Storage) -> None:
    owner = await add_client(storage)
    zero = (0.0, 0.0, 0.0, 0.0)
    await storage.vectors.upsert([item(owner, "zero", zero), item(owner, "x", X)], T0)

    assert await found(storage, query(owner)) == ["x"]
    assert await found(storage, query(owner, zero)) == []


@pytest.mark.parametrize(
    "bad",
    [
        {"content": "nul \x00 inside"},
        {"entity_type": "doc\x00"},
        {"metadata": {"k": "nul \x00 inside"}},
        {"metadata": {"k": math.nan}},
    ],
)
async def test_what_postgresql_cannot_store_is_invalid(
    storage: Storage, bad: dict[str, Any]
) -> None:
    owner = await add_client(storage)

    with pytest.raises(Invalid):
        await storage.vectors.upsert([item(owner, "ok", X), item(owner, "a", X, **bad)], T0)
    assert await found(storage, query(owner)) == []
