"""End-user tokens (SPEC §13): one character, one end user (and maybe one conversation); they
read and delete only that end user's conversations, and die with their tenant, character and
issuing key. On the memory adapters and on PostgreSQL."""

from __future__ import annotations

import httpx
import pytest

from tests.support.app import Tenant, make_character
from tests.support.keys import create_key, issue_token


def auth(secret: str) -> dict[str, str]:
    return {"x-api-key": secret}


async def say(
    api: httpx.AsyncClient, token: str, character: str, content: str, **extra: object
) -> httpx.Response:
    body = {"character_id": character, "content": content, **extra}
    return await api.post("/api/chat", json=body, headers=auth(token))


async def user_messages(api: httpx.AsyncClient, tenant: Tenant, conversation: str) -> list[str]:
    response = await api.get(f"/api/conversations/{conversation}", headers=tenant.headers)
    assert response.status_code == 200, response.text
    return [m["content"] for m in response.json()["data"]["messages"] if m["role"] == "user"]


async def test_alice_cannot_read_continue_or_delete_bobs_conversation(
    api: httpx.AsyncClient, alice: Tenant
) -> None:
    character = await make_character(api, alice)
    alice_token = await issue_token(api, alice.headers, character, "alice")
    bob_token = await issue_token(api, alice.headers, character, "bob")
    started = await say(api, bob_token, character, "bob's secret", conversation_id="bob-1")
    assert started.status_code == 201, started.text

    read = await api.get("/api/conversations/bob-1", headers=auth(alice_token))
    assert read.status_code == 404
    continued = await say(api, alice_token, character, "let me in", conversation_id="bob-1")
    assert continued.status_code == 409
    as_bob = await say(
        api, alice_token, character, "i am bob", conversation_id="bob-1", end_user="bob"
    )
    assert as_bob.status_code == 403
    deleted = await api.delete("/api/conversations/bob-1", headers=auth(alice_token))
    assert deleted.status_code == 404
    assert "bob's secret" not in read.text + continued.text + deleted.text

    assert await user_messages(api, alice, "bob-1") == ["bob's secret"]
    mine = await api.get("/api/conversations/bob-1", headers=auth(bob_token))
    assert mine.status_code == 200
    assert mine.json()["data"]["end_user"] == "bob"
    assert (
        await api.delete("/api/conversations/bob-1", headers=auth(bob_token))
    ).status_code == 204


async def test_a_token_chats_only_with_its_character_as_its_end_user(
    api: httpx.AsyncClient, alice: Tenant
) -> None:
    pirate, nun = await make_character(api, alice), await make_character(api, alice, "A nun.")
    token = await issue_token(api, alice.headers, pirate, "alice")

    assert (await say(api, token, nun, "hi")).status_code == 403
    turn = await say(api, token, pirate, "hi", end_user="alice")
    assert turn.status_code == 201
    conversation = turn.json()["data"]["conversation_id"]
    listed = await api.get(f"/api/conversations/{conversation}", headers=alice.headers)
    assert listed.json()["data"]["end_user"] == "alice"


async def test_a_token_bound_to_a_conversation_sees_only_that_one(
    api: httpx.AsyncClient, alice: Tenant
) -> None:
    character = await make_character(api, alice)
    token = await issue_token(api, alice.headers, character, "alice", conversation_id="c-1")
    other = await issue_token(api, alice.headers, character, "alice")
    assert (await say(api, other, character, "elsewhere", conversation_id="c-2")).is_success

    turn = await say(api, token, character, "hi")
    assert turn.status_code == 201
    assert turn.json()["data"]["conversation_id"] == "c-1"
    assert (await say(api, token, character, "x", conversation_id="c-2")).status_code == 403
    assert (await api.get("/api/conversations/c-2", headers=auth(token))).status_code == 404
    assert (await api.get("/api/conversations/c-1", headers=auth(token))).status_code == 200


async def test_a_token_works_as_a_bearer_token(api: httpx.AsyncClient, alice: Tenant) -> None:
    character = await make_character(api, alice)
    token = await issue_token(api, alice.headers, character, "alice")
    response = await api.post(
        "/api/chat",
        json={"character_id": character, "content": "hi"},
        headers={"authorization": f"Bearer {token}"},
    )
    assert response.status_code == 201, response.text


async def test_a_token_cannot_issue_tokens_or_keys(api: httpx.AsyncClient, alice: Tenant) -> None:
    character = await make_character(api, alice)
    token = auth(await issue_token(api, alice.headers, character, "alice"))
    issued = await api.post(
        "/api/end-user-tokens", json={"character_id": character, "end_user": "x"}, headers=token
    )
    assert issued.status_code == 403
    key = await api.post("/clients/me/keys", json={"name": "n", "scopes": ["chat"]}, headers=token)
    assert key.status_code == 403


@pytest.mark.parametrize(
    "body",
    [
        {"end_user": "alice", "ttl": 59},
        {"end_user": "alice", "ttl": 86_401},
        {"end_user": "alice", "ttl": "900"},
        {"end_user": "has space"},
        {"end_user": ""},
        {"end_user": "alice", "conversation_id": "bad/id"},
        {"end_user": "alice", "scope": "all"},
    ],
)
async def test_bad_token_requests_are_422(
    api: httpx.AsyncClient, alice: Tenant, body: dict[str, object]
) -> None:
    character = await make_character(api, alice)
    response = await api.post(
        "/api/end-user-tokens", json={"character_id": character, **body}, headers=alice.headers
    )
    assert response.status_code == 422, response.text


async def test_a_token_for_a_missing_character_is_404(
    api: httpx.AsyncClient, alice: Tenant, bob: Tenant
) -> None:
    bobs = await make_character(api, bob)
    response = await api.post(
        "/api/end-user-tokens", json={"character_id": bobs, "end_user": "a"}, headers=alice.headers
    )
    assert response.status_code == 404


async def test_a_token_dies_with_its_character(api: httpx.AsyncClient, alice: Tenant) -> None:
    character = await make_character(api, alice)
    token = await issue_token(api, alice.headers, character, "alice")
    assert (await say(api, token, character, "hi")).status_code == 201

    deleted = await api.delete(f"/api/characters/{character}", headers=alice.headers)
    assert deleted.status_code == 204

    assert (await say(api, token, character, "hi")).status_code == 401


async def test_a_token_dies_with_its_issuing_key(api: httpx.AsyncClient, alice: Tenant) -> None:
    character = await make_character(api, alice)
    created = await api.post(
        "/clients/me/keys", json={"name": "backend", "scopes": ["chat"]}, headers=alice.headers
    )
    key, key_id = created.json()["data"]["api_key"], created.json()["data"]["id"]
    token = await issue_token(api, auth(key), character, "alice")
    primary_token = await issue_token(api, alice.headers, character, "alice")

    revoked = await api.delete(f"/clients/me/keys/{key_id}", headers=alice.headers)
    assert revoked.status_code == 204

    assert (await say(api, token, character, "hi")).status_code == 401
    assert (await say(api, primary_token, character, "hi")).status_code == 201
    rotated = await api.post("/clients/me/regenerate-key", headers=alice.headers)
    assert rotated.status_code == 201
    assert (await say(api, primary_token, character, "hi")).status_code == 401


async def test_keys_and_tokens_die_with_their_tenant(api: httpx.AsyncClient, alice: Tenant) -> None:
    character = await make_character(api, alice)
    key = await create_key(api, alice.headers, ["chat", "read"])
    token = await issue_token(api, alice.headers, character, "alice")

    assert (await api.delete("/clients/me", headers=alice.headers)).status_code == 204

    assert (await api.get("/api/characters", headers=auth(key))).status_code == 401
    assert (await say(api, token, character, "hi")).status_code == 401
