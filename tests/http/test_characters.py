"""Character CRUD with partial updates and pagination (SPEC §6.1)."""

from __future__ import annotations

import httpx

from tests.support.app import Tenant, make_character


async def test_create_get_list_patch_delete(api: httpx.AsyncClient, alice: Tenant) -> None:
    created = await api.post(
        "/api/characters",
        json={"name": "Ahoy", "agent_role": "You are a pirate.", "TTL": 60},
        headers=alice.headers,
    )
    assert created.status_code == 201
    character = created.json()["data"]
    assert character["ttl"] == 60
    assert character["name"] == "Ahoy"
    url = f"/api/characters/{character['id']}"

    got = await api.get(url, headers=alice.headers)
    assert got.status_code == 200
    assert got.json()["data"] == character

    patched = await api.patch(url, json={"agent_role": "You are a parrot."}, headers=alice.headers)
    assert patched.status_code == 200
    data = patched.json()["data"]
    assert data["agent_role"] == "You are a parrot."
    assert data["name"] == "Ahoy"
    assert data["ttl"] == 60

    cleared = await api.patch(url, json={"name": None}, headers=alice.headers)
    assert cleared.json()["data"]["name"] is None

    assert (await api.delete(url, headers=alice.headers)).status_code == 204
    assert (await api.get(url, headers=alice.headers)).status_code == 404
    assert (await api.delete(url, headers=alice.headers)).status_code == 404


async def test_empty_list_is_an_empty_list(api: httpx.AsyncClient, alice: Tenant) -> None:
    response = await api.get("/api/characters", headers=alice.headers)
    assert response.status_code == 200
    assert response.json()["data"] == {"items": [], "next_cursor": None}


async def test_pagination_walks_every_character_once(api: httpx.AsyncClient, alice: Tenant) -> None:
    ids = {await make_character(api, alice, f"Prompt {i}") for i in range(7)}
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = (await api.get("/api/characters", params=params, headers=alice.headers)).json()
        seen += [c["id"] for c in page["data"]["items"]]
        cursor = page["data"]["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 7
    assert set(seen) == ids


async def test_bad_input_is_422_and_changes_nothing(api: httpx.AsyncClient, alice: Tenant) -> None:
    bad = [
        {"agent_role": ""},
        {"agent_role": "x" * 20_001},
        {"agent_role": "ok", "ttl": 0},
        {"agent_role": "ok", "ttl": 604_801},
        {"agent_role": "ok", "name": "n" * 101},
        {"agent_role": "ok", "knowledge": {"entity_types": []}},
        {"name": "no prompt"},
    ]
    for body in bad:
        response = await api.post("/api/characters", json=body, headers=alice.headers)
        assert response.status_code == 422, body
    listed = await api.get("/api/characters", headers=alice.headers)
    assert listed.json()["data"]["items"] == []
    assert (await api.get("/api/characters/not-a-uuid", headers=alice.headers)).status_code == 422
    assert (
        await api.get("/api/characters", params={"limit": 101}, headers=alice.headers)
    ).status_code == 422
    assert (
        await api.get("/api/characters", params={"cursor": "garbage"}, headers=alice.headers)
    ).status_code == 422


async def test_patch_cannot_remove_the_prompt(api: httpx.AsyncClient, alice: Tenant) -> None:
    cid = await make_character(api, alice)
    url = f"/api/characters/{cid}"
    assert (
        await api.patch(url, json={"agent_role": None}, headers=alice.headers)
    ).status_code == 422
    got = await api.get(url, headers=alice.headers)
    assert got.json()["data"]["agent_role"] == "You are a pirate."
