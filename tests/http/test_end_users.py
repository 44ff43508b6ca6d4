"""`end_user` on /api/chat (SPEC §13): a conversation started for an end user stays theirs."""

from __future__ import annotations

import httpx

from tests.support.app import Tenant, make_character


async def chat(api: httpx.AsyncClient, tenant: Tenant, **body: object) -> httpx.Response:
    return await api.post("/api/chat", json=body, headers=tenant.headers)


async def history(api: httpx.AsyncClient, tenant: Tenant, conversation: str) -> list[str]:
    response = await api.get(f"/api/conversations/{conversation}", headers=tenant.headers)
    assert response.status_code == 200, response.text
    return [m["content"] for m in response.json()["data"]["messages"] if m["role"] == "user"]


async def test_another_end_user_cannot_continue_a_conversation(
    api: httpx.AsyncClient, alice: Tenant
) -> None:
    cid = await make_character(api, alice)
    first = await chat(api, alice, character_id=cid, content="hi", conversation_id="s1",
                       end_user="user@42")  # fmt: skip
    assert first.status_code == 201

    stolen = await chat(api, alice, character_id=cid, content="mine now", conversation_id="s1",
                        end_user="user-43")  # fmt: skip

    assert stolen.status_code == 409
    assert "another end user" in stolen.json()["detail"]
    assert await history(api, alice, "s1") == ["hi"]
    again = await chat(api, alice, character_id=cid, content="again", conversation_id="s1",
                       end_user="user@42")  # fmt: skip
    assert again.status_code == 201
    by_tenant = await chat(api, alice, character_id=cid, content="from the app",
                           conversation_id="s1")  # fmt: skip
    assert by_tenant.status_code == 201
    response = await api.get("/api/conversations/s1", headers=alice.headers)
    assert response.json()["data"]["end_user"] == "user@42"
    assert await history(api, alice, "s1") == ["hi", "again", "from the app"]


async def test_a_streamed_turn_of_another_end_user_is_refused_before_it_streams(
    api: httpx.AsyncClient, alice: Tenant
) -> None:
    cid = await make_character(api, alice)
    await chat(api, alice, character_id=cid, content="hi", conversation_id="s2", end_user="a")

    stolen = await chat(api, alice, character_id=cid, content="x", conversation_id="s2",
                        end_user="b", stream=True)  # fmt: skip

    assert stolen.status_code == 409
    assert await history(api, alice, "s2") == ["hi"]


async def test_an_end_user_id_is_checked(api: httpx.AsyncClient, alice: Tenant) -> None:
    cid = await make_character(api, alice)
    for bad in ("", "has space", "x" * 129, "slash/no"):
        response = await chat(api, alice, character_id=cid, content="hi", end_user=bad)
        assert response.status_code == 422, bad
