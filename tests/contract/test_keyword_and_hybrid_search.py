"""Keyword and hybrid search, the same contract for the in-memory index and PostgreSQL's
full-text search fused with pgvector."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest

from fastwrap.adapters.bundles import Storage
from fastwrap.domain.model import SearchQuery
from tests.contract.test_vector_index import MODEL, T0, T1, X, add_client, item

Y = (0.0, 1.0, 0.0, 0.0)


@pytest.fixture
def pg_embedding_dim() -> int:
    return 4


def words(client_id: UUID, text: str, **extra: Any) -> SearchQuery:
    values: dict[str, Any] = {
        "client_id": client_id, "embedding": (), "model": MODEL, "top_k": 10,
        "mode": "keyword", "text": text,
    }  # fmt: skip
    return SearchQuery(**{**values, **extra})


async def ids(storage: Storage, query: SearchQuery) -> list[str]:
    return [hit.snippet.entity_id for hit in await storage.vectors.search(query)]


async def test_keyword_search_finds_shared_words_with_more_of_them_first(
    storage: Storage,
) -> None:
    owner, other = await add_client(storage), await add_client(storage)
    texts = {
        "both": "Refund policy: a refund within 30 days",
        "one": "Our shipping policy",
        "none": "Opening hours and address",
        "deleted": "refund policy (old)",
        "old-model": "refund policy",
    }
    rows = [item(owner, key, X, content=text) for key, text in texts.items()]
    rows[-1] = item(owner, "old-model", X, content=texts["old-model"], model="other")
    await storage.vectors.upsert([*rows, item(other, "theirs", X, content="refund")], T0)
    await storage.vectors.delete(owner, "doc", "deleted", T1)

    hits = await storage.vectors.search(words(owner, "REFUND policy?"))

    assert [h.snippet.entity_id for h in hits] == ["both", "one"]
    assert all(h.distance is None and 0 < h.score < 1 for h in hits)
    assert hits[0].score > hits[1].score
    assert await ids(storage, words(owner, "refund", entity_types=("faq",))) == []
    assert await ids(storage, words(owner, "refund", top_k=1)) == ["both"]


async def test_keyword_search_takes_any_text_and_filters_like_vector_search(
    storage: Storage,
) -> None:
    owner = await add_client(storage)
    await storage.vectors.upsert(
        [
            item(owner, "quoted", X, content="it's a back\\slash test", metadata={"lang": "en"}),
            item(owner, "plain", X, content="another test", metadata={"lang": "fr"}),
        ],
        T0,
    )

    tricky = "it's & | ! ( ) : * <-> 'test' \\ \"x\""
    assert sorted(await ids(storage, words(owner, tricky))) == ["plain", "quoted"]
    assert await ids(storage, words(owner, "?! ...")) == []  # no words: nothing matches
    assert await ids(storage, words(owner, "test", metadata={"lang": "fr"})) == ["plain"]


async def test_hybrid_returns_what_only_one_part_finds_with_each_parts_rank(
    storage: Storage,
) -> None:
    owner = await add_client(storage)
    await storage.vectors.upsert(
        [
            item(owner, "words-only", Y, content="error code E1234 explained"),
            item(owner, "meaning-only", X, content="nothing in common"),
            item(owner, "both", (1.0, 0.1, 0.0, 0.0), content="E1234, more on E1234"),
        ],
        T0,
    )
    query = SearchQuery(
        client_id=owner, embedding=(1.0, 0.1, 0.0, 0.0), model=MODEL, top_k=10,
        mode="hybrid", text="E1234",
    )  # fmt: skip

    hits = {h.snippet.entity_id: h for h in await storage.vectors.search(query)}

    assert set(hits) == {"words-only", "meaning-only", "both"}
    both, words_only, meaning = hits["both"], hits["words-only"], hits["meaning-only"]
    assert (both.vector_rank, both.keyword_rank) == (1, 1)
    assert both.score == pytest.approx(1.0)
    assert words_only.keyword_rank == 2
    assert (meaning.vector_rank, meaning.keyword_rank) == (2, None)
    assert words_only.vector_rank == 3  # every row is a vector neighbour of something
    assert all(h.distance is not None for h in hits.values())
    assert meaning.distance == pytest.approx(1 - 1 / (1.01**0.5), abs=1e-4)


async def test_hybrid_gives_a_small_tenant_top_k_whatever_a_big_one_holds(
    storage: Storage,
) -> None:
    big, small = await add_client(storage), await add_client(storage)
    crowd = [
        item(big, f"b{n}", (1.0, n / 1000, 0.0, 0.0), content=f"refund policy {n}")
        for n in range(300)
    ]
    for start in range(0, len(crowd), 100):
        await storage.vectors.upsert(crowd[start : start + 100], T0)
    mine = [item(small, f"s{n}", (n / 10, 1.0, 0.0, 0.0), content="refund") for n in range(5)]
    await storage.vectors.upsert(mine, T0)

    for mode in ("hybrid", "keyword", "vector"):
        query = SearchQuery(
            client_id=small, embedding=X, model=MODEL, top_k=5, mode=mode, text="refund policy"
        )  # fmt: skip
        assert sorted(await ids(storage, query)) == [f"s{n}" for n in range(5)], mode


async def test_keyword_search_follows_every_change_to_a_snippet(storage: Storage) -> None:
    owner = await add_client(storage)
    t2, t3 = T1 + timedelta(minutes=1), T1 + timedelta(minutes=2)

    async def by_words(text: str, **extra: Any) -> list[str]:
        return await ids(storage, words(owner, text, **extra))

    await storage.vectors.upsert([item(owner, "a", X, content="alpha words")], T0)
    assert await by_words("alpha") == ["a"]

    await storage.vectors.upsert([item(owner, "a", X, content="beta words")], T1)
    assert (await by_words("alpha"), await by_words("beta")) == ([], ["a"])

    # The metadata alone changes: the words stay, and a metadata filter sees the new value.
    moved = item(owner, "a", X, content="beta words", metadata={"lang": "fr"})
    await storage.vectors.upsert([moved], t2)
    assert await by_words("beta", metadata={"lang": "fr"}) == ["a"]
    assert await by_words("beta", metadata={"lang": "en"}) == []

    hybrid = {"mode": "hybrid", "embedding": X}
    await storage.vectors.delete(owner, "doc", "a", t3)
    assert (await by_words("beta"), await by_words("beta", **hybrid)) == ([], [])

    await storage.vectors.upsert([item(owner, "a", X, content="alpha again")], t3)
    assert (await by_words("alpha"), await by_words("beta")) == (["a"], [])
    assert await by_words("alpha", entity_types=("doc",), **hybrid) == ["a"]
