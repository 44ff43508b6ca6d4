"""Snippet upsert, search and delete over HTTP (SPEC §7)."""

from __future__ import annotations

import httpx

from tests.support.app import Tenant

FAQ = [
    ("faq", "shipping", "Orders ship within two business days by courier.", {"lang": "en"}),
    ("faq", "returns", "You may return any item within thirty days for a refund.", {"lang": "en"}),
    ("faq", "versand", "Bestellungen werden innerhalb von zwei Tagen versandt.", {"lang": "de"}),
    ("doc", "pirates", "Pirates sailed the Caribbean looking for treasure.", {"lang": "en"}),
]


async def load(api: httpx.AsyncClient, tenant: Tenant) -> list[dict[str, object]]:
    items = [{"entity_type": t, "entity_id": i, "content": c, "metadata": m} for t, i, c, m in FAQ]
    response = await api.post("/api/vectors/upsert", json={"items": items}, headers=tenant.headers)
    assert response.status_code == 201, response.text
    data: list[dict[str, object]] = response.json()["data"]
    return data


async def search(api: httpx.AsyncClient, tenant: Tenant, **body: object) -> list[dict[str, object]]:
    response = await api.post("/api/vectors/search", json=body, headers=tenant.headers)
    assert response.status_code == 200, response.text
    hits: list[dict[str, object]] = response.json()["data"]
    return hits


async def test_search_finds_the_closest_snippet(api: httpx.AsyncClient, alice: Tenant) -> None:
    stored = await load(api, alice)
    assert [s["entity_id"] for s in stored] == ["shipping", "returns", "versand", "pirates"]
    hits = await search(api, alice, query="how long until my order ships", top_k=2)
    assert hits[0]["entity_id"] == "shipping"
    assert hits[0]["score"] >= hits[1]["score"]  # type: ignore[operator]
    assert abs(hits[0]["score"] + hits[0]["distance"] - 1) < 1e-6  # type: ignore[operator]


async def test_filters_by_entity_type_and_metadata(api: httpx.AsyncClient, alice: Tenant) -> None:
    await load(api, alice)
    docs = await search(api, alice, query="pirates", top_k=10, entity_type="doc")
    assert [h["entity_id"] for h in docs] == ["pirates"]
    german = await search(api, alice, query="orders", top_k=10, metadata={"lang": "de"})
    assert [h["entity_id"] for h in german] == ["versand"]
    everything = await search(api, alice, query="orders", top_k=50)
    assert len(everything) == 4


async def test_reupsert_replaces_and_keeps_id(api: httpx.AsyncClient, alice: Tenant) -> None:
    first = await api.post(
        "/api/vectors/upsert",
        json={"entity_type": "faq", "entity_id": "hours", "content": "Open nine to five."},
        headers=alice.headers,
    )
    assert first.status_code == 201
    original = first.json()["data"]
    second = await api.post(
        "/api/vectors/upsert",
        json={
            "entity_type": "faq",
            "entity_id": "hours",
            "content": "Open around the clock.",
            "metadata": {"v": 2},
        },
        headers=alice.headers,
    )
    updated = second.json()["data"]
    assert updated["id"] == original["id"]
    assert updated["created_at"] == original["created_at"]
    hits = await search(api, alice, query="clock", top_k=5)
    assert [(h["content"], h["metadata"]) for h in hits] == [("Open around the clock.", {"v": 2})]


async def test_delete_then_gone(api: httpx.AsyncClient, alice: Tenant) -> None:
    await load(api, alice)
    assert (await api.delete("/api/vectors/faq/returns", headers=alice.headers)).status_code == 204
    hits = await search(api, alice, query="return refund", top_k=50)
    assert "returns" not in [h["entity_id"] for h in hits]
    assert (await api.delete("/api/vectors/faq/returns", headers=alice.headers)).status_code == 404


async def test_bad_vector_input_is_422_and_stores_nothing(
    api: httpx.AsyncClient, alice: Tenant
) -> None:
    item = {"entity_type": "faq", "entity_id": "x", "content": "c"}
    for body in (
        {"items": []},
        {"items": [item] * 101},
        {"items": [item, item]},  # the same entity twice in one batch
        {"entity_type": "faq", "entity_id": "x"},
        {"entity_type": "f" * 65, "entity_id": "x", "content": "c"},
        {"entity_type": "faq", "entity_id": "x" * 129, "content": "c"},
        {"entity_type": "faq", "entity_id": "x", "content": ""},
        {"entity_type": "faq", "entity_id": "x", "content": "c", "metadata": [1]},
    ):
        response = await api.post("/api/vectors/upsert", json=body, headers=alice.headers)
        assert response.status_code == 422, body
    for body in ({"query": "x", "top_k": 51}, {"query": "x", "top_k": 0}, {"query": ""}):
        response = await api.post("/api/vectors/search", json=body, headers=alice.headers)
        assert response.status_code == 422, body
    assert await search(api, alice, query="anything", top_k=50) == []


async def test_knowledge_feeds_the_chat_and_comes_back_as_sources(
    api: httpx.AsyncClient, alice: Tenant
) -> None:
    await load(api, alice)
    character = await api.post(
        "/api/characters",
        json={
            "agent_role": "You are a shop assistant.",
            "knowledge": {"entity_types": ["faq"], "top_k": 2, "min_score": 0.05},
        },
        headers=alice.headers,
    )
    cid = character.json()["data"]["id"]
    turn = await api.post(
        "/api/chat",
        json={"character_id": cid, "content": "when will my order ship?"},
        headers=alice.headers,
    )
    assert turn.status_code == 201
    sources = turn.json()["data"]["sources"]
    assert sources
    assert sources[0]["entity_id"] == "shipping"
    assert all(s["entity_type"] == "faq" for s in sources)


async def test_a_hit_carries_its_metadata_whatever_numbers_it_holds(
    api: httpx.AsyncClient, alice: Tenant
) -> None:
    metadata = {"big": 2**70, "small": -(2**63), "ratio": 0.1, "nested": {"list": [1, "a", None]}}
    body = {"entity_type": "doc", "entity_id": "n", "content": "numbers", "metadata": metadata}
    response = await api.post("/api/vectors/upsert", json=body, headers=alice.headers)
    assert response.status_code == 201, response.text

    for mode in ("vector", "keyword", "hybrid"):
        [hit] = await search(api, alice, query="numbers", top_k=5, mode=mode)
        assert hit["metadata"] == metadata, mode
