"""Another tenant's resource is indistinguishable from a missing one (SPEC §3)."""

from __future__ import annotations

import httpx
import pytest

from tests.support.app import Tenant, make_character

MISSING = "00000000-0000-4000-8000-000000000000"


async def _resources(api: httpx.AsyncClient, owner: Tenant) -> dict[str, str]:
    cid = await make_character(api, owner)
    turn = await api.post(
        "/api/chat",
        json={"character_id": cid, "content": "secret plans", "conversation_id": "conv-1"},
        headers=owner.headers,
    )
    assert turn.status_code == 201
    upsert = await api.post(
        "/api/vectors/upsert",
        json={"entity_type": "note", "entity_id": "n1", "content": "the owner's secret note"},
        headers=owner.headers,
    )
    assert upsert.status_code == 201
    return {"character": cid, "conversation": "conv-1"}


ROUTES = [
    ("GET", "/api/characters/{character}", None),
    ("PATCH", "/api/characters/{character}", {"name": "stolen"}),
    ("DELETE", "/api/characters/{character}", None),
    ("GET", "/api/conversations/{conversation}", None),
    ("DELETE", "/api/conversations/{conversation}", None),
    ("DELETE", "/api/vectors/note/n1", None),
    ("POST", "/api/chat", {"character_id": "{character}", "content": "hi"}),
    ("POST", "/api/chat", {"character_id": "{character}", "content": "x", "stream": True}),
]


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
async def test_other_tenant_gets_404_and_owner_keeps_everything(
    api: httpx.AsyncClient,
    alice: Tenant,
    bob: Tenant,
    method: str,
    path: str,
    body: dict[str, object] | None,
) -> None:
    ids = await _resources(api, alice)
    url = path.format(**ids)
    payload = (
        {k: (v.format(**ids) if isinstance(v, str) else v) for k, v in body.items()}
        if body
        else None
    )
    as_bob = await api.request(method, url, json=payload, headers=bob.headers)
    assert as_bob.status_code == 404
    assert "secret" not in as_bob.text
    assert alice.id not in as_bob.text

    if method != "POST":  # the same route on a missing id answers the same way
        missing = await api.request(
            method,
            path.format(character=MISSING, conversation="nope"),
            json=payload,
            headers=bob.headers,
        )
        assert missing.status_code == 404
        assert missing.json()["detail"] == as_bob.json()["detail"]

    own = await api.get(f"/api/characters/{ids['character']}", headers=alice.headers)
    assert own.status_code == 200
    assert own.json()["data"]["name"] is None
    history = await api.get("/api/conversations/conv-1", headers=alice.headers)
    assert len(history.json()["data"]["messages"]) == 2
    hits = await api.post(
        "/api/vectors/search", json={"query": "secret note"}, headers=alice.headers
    )
    assert [h["entity_id"] for h in hits.json()["data"]] == ["n1"]


async def test_search_and_lists_never_show_another_tenant(
    api: httpx.AsyncClient, alice: Tenant, bob: Tenant
) -> None:
    await _resources(api, alice)
    hits = await api.post("/api/vectors/search", json={"query": "secret note"}, headers=bob.headers)
    assert hits.json()["data"] == []
    listed = await api.get("/api/characters", headers=bob.headers)
    assert listed.json()["data"]["items"] == []
    same_id = await api.get("/api/conversations/conv-1", headers=bob.headers)
    assert same_id.status_code == 404
