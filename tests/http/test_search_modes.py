"""Search modes over HTTP with the hashing embedder (SPEC §15): keyword finds exact words the
vectors miss, vector finds near words keyword misses, hybrid returns both."""

from __future__ import annotations

import httpx
import pytest

from tests.http.test_vectors import search
from tests.support.app import Tenant, make_character

SNIPPETS = {
    # Shares trigrams of "delivery" with the question but not one whole word.
    "near-words": "Deliveries reach you within three working days",
    # Holds the exact part number, among many other words.
    "exact-word": "Part zx81q ships from our warehouse in Oslo with a printed manual, two "
    "batteries and a charger",
    "unrelated": "Opening hours of the shop",
}
QUESTION = "when will my delivery arrive zx81q"


@pytest.fixture
async def loaded(api: httpx.AsyncClient, alice: Tenant) -> Tenant:
    items = [
        {"entity_type": "faq", "entity_id": key, "content": text} for key, text in SNIPPETS.items()
    ]
    response = await api.post("/api/vectors/upsert", json={"items": items}, headers=alice.headers)
    assert response.status_code == 201, response.text
    return alice


async def test_each_part_alone_misses_what_hybrid_returns(
    api: httpx.AsyncClient, loaded: Tenant
) -> None:
    [by_meaning] = await search(api, loaded, query=QUESTION, top_k=1)
    [by_words] = await search(api, loaded, query=QUESTION, top_k=1, mode="keyword")
    assert (by_meaning["entity_id"], by_words["entity_id"]) == ("near-words", "exact-word")
    assert by_words["distance"] is None

    hits = await search(api, loaded, query=QUESTION, top_k=2, mode="hybrid")

    assert {h["entity_id"] for h in hits} == {"near-words", "exact-word"}
    ranks = {h["entity_id"]: (h["vector_rank"], h["keyword_rank"]) for h in hits}
    assert ranks["near-words"] == (1, None)
    assert ranks["exact-word"][1] == 1
    assert all(0 < h["score"] <= 1 and h["distance"] is not None for h in hits)  # type: ignore[operator]


async def test_an_unknown_mode_is_a_422(api: httpx.AsyncClient, alice: Tenant) -> None:
    response = await api.post(
        "/api/vectors/search", json={"query": "x", "mode": "fuzzy"}, headers=alice.headers
    )
    assert response.status_code == 422


async def test_a_character_keeps_its_knowledge_mode(api: httpx.AsyncClient, alice: Tenant) -> None:
    knowledge = {"entity_types": ["faq"], "top_k": 2, "min_score": 0.0, "mode": "hybrid"}
    character = await make_character(api, alice, knowledge=knowledge)

    response = await api.get(f"/api/characters/{character}", headers=alice.headers)

    assert response.json()["data"]["knowledge"] == knowledge
    response = await api.post(
        "/api/characters",
        json={"agent_role": "x", "knowledge": {"entity_types": ["faq"], "mode": "fuzzy"}},
        headers=alice.headers,
    )
    assert response.status_code == 422
