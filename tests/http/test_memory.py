"""Long-term memory over HTTP (SPEC §15): a character's `memory`, `data.memories`, an end
user's items and their erasure. On the memory adapters and on PostgreSQL, with the app's own
memory worker embedding in the background."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from tests.support.app import Tenant, app_client, hermetic_settings, make_character, sign_up
from tests.support.keys import create_key, issue_token

MEMORY = {"enabled": True, "top_k": 4, "min_score": -1.0, "scope": "end_user"}
FACT = "My dog is called Rex"


async def chat(
    api: httpx.AsyncClient, headers: dict[str, str], character: str, content: str, **extra: Any
) -> dict[str, Any]:
    body = {"character_id": character, "content": content, **extra}
    response = await api.post("/api/chat", json=body, headers=headers)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def memory_of(api: httpx.AsyncClient, tenant: Tenant, end_user: str) -> list[dict[str, Any]]:
    response = await api.get(f"/api/end-users/{end_user}/memory", headers=tenant.headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["data"]["items"]
    return items


async def embedded(api: httpx.AsyncClient, tenant: Tenant, end_user: str, count: int) -> None:
    """Until the app's memory worker has embedded `count` items of the end user."""
    async with asyncio.timeout(20):
        while sum(i["embedded"] for i in await memory_of(api, tenant, end_user)) < count:
            await asyncio.sleep(0.02)


async def test_a_characters_memory_settings_are_set_shown_and_cleared(
    api: httpx.AsyncClient, alice: Tenant
) -> None:
    character = await make_character(api, alice, memory={"scope": "conversation"})
    shown = await api.get(f"/api/characters/{character}", headers=alice.headers)
    assert shown.json()["data"]["memory"] == {
        "enabled": True, "top_k": 4, "min_score": 0.3, "scope": "conversation"
    }  # fmt: skip

    for bad in ({"scope": "everyone"}, {"top_k": 21}, {"top_k": -1}, {"enabled": "yes"}):
        refused = await api.patch(
            f"/api/characters/{character}", json={"memory": bad}, headers=alice.headers
        )
        assert refused.status_code == 422, bad
    cleared = await api.patch(
        f"/api/characters/{character}", json={"memory": None}, headers=alice.headers
    )
    assert cleared.json()["data"]["memory"] is None


async def test_an_end_user_is_remembered_in_their_next_conversation(
    api: httpx.AsyncClient, alice: Tenant
) -> None:
    character = await make_character(api, alice, memory=MEMORY)
    first = await chat(api, alice.headers, character, FACT, end_user="ann", conversation_id="a1")
    assert first["memories"] == []
    await embedded(api, alice, "ann", 1)

    later = await chat(
        api, alice.headers, character, "What is my dog called?", end_user="ann",
        conversation_id="a2",
    )  # fmt: skip

    [memory] = later["memories"]
    assert memory["conversation_id"] == "a1"
    assert memory["content"].startswith(f"User: {FACT}\nAssistant: ")
    assert -1.0 <= memory["score"] <= 1.0
    other = await chat(api, alice.headers, character, "What is my dog called?", end_user="bo")
    assert other["memories"] == []


async def test_an_end_users_memory_is_listed_for_the_tenant_only(
    api: httpx.AsyncClient, alice: Tenant, bob: Tenant
) -> None:
    character = await make_character(api, alice, memory=MEMORY)
    token = await issue_token(api, alice.headers, character, "ann")
    await chat(api, {"x-api-key": token}, character, FACT)  # the token names the end user

    [item] = await memory_of(api, alice, "ann")
    assert item["character_id"] == character
    assert item["content"].startswith(f"User: {FACT}")
    assert await memory_of(api, bob, "ann") == []
    chat_only = await create_key(api, alice.headers, scopes=["chat"])
    for headers in ({"x-api-key": token}, {"x-api-key": chat_only}):
        assert (await api.get("/api/end-users/ann/memory", headers=headers)).status_code == 403
        assert (await api.delete("/api/end-users/ann", headers=headers)).status_code == 403
    assert (
        await api.get("/api/end-users/no%20spaces/memory", headers=alice.headers)
    ).status_code == 422


async def test_erasing_an_end_user_leaves_nothing_findable(
    api: httpx.AsyncClient, alice: Tenant
) -> None:
    character = await make_character(api, alice, memory=MEMORY)
    for cid in ("a1", "a2"):
        await chat(api, alice.headers, character, FACT, end_user="ann", conversation_id=cid)
    await chat(api, alice.headers, character, FACT, end_user="bo", conversation_id="b1")
    await embedded(api, alice, "ann", 2)

    erased = await api.delete("/api/end-users/ann", headers=alice.headers)

    assert erased.status_code == 200, erased.text
    assert erased.json()["data"] == {
        "end_user": "ann", "memory_items": 2, "conversations": 2, "usage_records": 2
    }  # fmt: skip
    assert await memory_of(api, alice, "ann") == []
    for cid in ("a1", "a2"):
        gone = await api.get(f"/api/conversations/{cid}", headers=alice.headers)
        assert gone.status_code == 404
    usage = await api.get("/api/usage?group_by=end_user", headers=alice.headers)
    assert {row["end_user"] for row in usage.json()["data"]["items"]} == {None, "bo"}
    asked = await chat(
        api, alice.headers, character, "What is my dog called?", end_user="ann"
    )  # fmt: skip
    assert asked["memories"] == []
    assert (await api.get("/api/conversations/b1", headers=alice.headers)).status_code == 200
    assert len(await memory_of(api, alice, "bo")) == 1
    again = await api.delete("/api/end-users/ann", headers=alice.headers)
    assert again.json()["data"]["memory_items"] == 1  # only the question just asked


async def test_the_original_variables_are_the_defaults_of_characters_without_memory() -> None:
    remembering = hermetic_settings(
        vector_chat_store_enabled=True, vector_chat_memory_enabled=False
    )
    async with app_client(remembering) as api:
        tenant = await sign_up(api, "defaults@example.com")
        character = await make_character(api, tenant)  # no `memory`: the defaults
        opted_out = await make_character(api, tenant, memory={"enabled": False})
        await chat(api, tenant.headers, character, FACT, end_user="ann")
        await chat(api, tenant.headers, opted_out, FACT, end_user="ann")
        await embedded(api, tenant, "ann", 1)

        later = await chat(api, tenant.headers, character, FACT, end_user="ann")

        assert later["memories"] == []  # VECTOR_CHAT_MEMORY_ENABLED=false: remembered only
        assert [i["character_id"] for i in await memory_of(api, tenant, "ann")] == [character] * 2
    async with app_client(hermetic_settings()) as api:  # the default: no memory
        tenant = await sign_up(api, "forgetful@example.com")
        character = await make_character(api, tenant)
        await chat(api, tenant.headers, character, FACT, end_user="ann")
        assert await memory_of(api, tenant, "ann") == []
