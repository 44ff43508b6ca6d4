"""Revocation across replicas (SPEC §13): two app instances on one PostgreSQL, each with its
lookup cache on (the default). When a revocation made on one returns, the other refuses the
key or token on its very next request: no waiting, no retry loop.

Each test first proves the second instance really serves the credential from memory (a change
made with the notices switched off stays unseen there), so none could pass against instances
that simply ask the database every time.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.integration.test_lookup_cache import silently
from tests.support.app import app_client, hermetic_settings, make_character, sign_up
from tests.support.keys import create_key, issue_token

pytestmark = pytest.mark.integration

type Pair = tuple[httpx.AsyncClient, httpx.AsyncClient]


@pytest.fixture
async def pair(pg_dsn: str) -> AsyncIterator[Pair]:
    settings = hermetic_settings(fastwrap_storage="postgres", database_url=pg_dsn)
    assert settings.lookup_cache_size > 0
    async with app_client(settings) as one, app_client(settings) as two:
        yield one, two


def auth(secret: str) -> dict[str, str]:
    return {"x-api-key": secret}


async def test_a_key_revoked_on_one_replica_is_refused_by_the_other_at_once(
    pair: Pair, pg_dsn: str
) -> None:
    one, two = pair
    ada = await sign_up(one, "ada@example.com")
    created = await one.post(
        "/clients/me/keys", json={"name": "backend", "scopes": ["read"]}, headers=ada.headers
    )
    key, key_id = created.json()["data"]["api_key"], created.json()["data"]["id"]
    assert (await two.get("/api/characters", headers=auth(key))).status_code == 200
    # Served from memory: revoked behind the notices' back, the key still works on `two`.
    await silently(pg_dsn, "UPDATE api_keys SET deleted_at = now() WHERE id = $1", key_id)
    assert (await two.get("/api/characters", headers=auth(key))).status_code == 200
    await silently(pg_dsn, "UPDATE api_keys SET deleted_at = NULL WHERE id = $1", key_id)

    revoked = await one.delete(f"/clients/me/keys/{key_id}", headers=ada.headers)
    assert revoked.status_code == 204

    assert (await two.get("/api/characters", headers=auth(key))).status_code == 401


async def test_a_token_dies_on_every_replica_with_its_key_and_its_character(
    pair: Pair, pg_dsn: str
) -> None:
    one, two = pair
    ada = await sign_up(one, "ada@example.com")
    character = await make_character(one, ada)
    created = await one.post(
        "/clients/me/keys", json={"name": "backend", "scopes": ["chat"]}, headers=ada.headers
    )
    key, key_id = created.json()["data"]["api_key"], created.json()["data"]["id"]
    by_key = await issue_token(one, auth(key), character, "alice")
    by_primary = await issue_token(one, ada.headers, character, "bob")
    chat = {"character_id": character, "content": "hi"}
    for token in (by_key, by_primary):
        assert (await two.post("/api/chat", json=chat, headers=auth(token))).status_code == 201
    await silently(pg_dsn, "UPDATE characters SET deleted_at = now() WHERE id = $1", character)
    assert (await two.post("/api/chat", json=chat, headers=auth(by_primary))).status_code == 201
    await silently(pg_dsn, "UPDATE characters SET deleted_at = NULL WHERE id = $1", character)

    assert (await one.delete(f"/clients/me/keys/{key_id}", headers=ada.headers)).status_code == 204
    assert (await two.post("/api/chat", json=chat, headers=auth(by_key))).status_code == 401
    assert (await two.post("/api/chat", json=chat, headers=auth(by_primary))).status_code == 201

    deleted = await one.delete(f"/api/characters/{character}", headers=ada.headers)
    assert deleted.status_code == 204
    assert (await two.post("/api/chat", json=chat, headers=auth(by_primary))).status_code == 401


async def test_a_deleted_tenants_keys_die_on_every_replica(pair: Pair) -> None:
    one, two = pair
    ada = await sign_up(one, "ada@example.com")
    key = await create_key(one, ada.headers, ["read"])
    assert (await two.get("/api/characters", headers=auth(key))).status_code == 200

    assert (await one.delete("/clients/me", headers=ada.headers)).status_code == 204

    assert (await two.get("/api/characters", headers=auth(key))).status_code == 401


async def test_settings_changed_on_one_replica_hold_on_the_other_at_once(pair: Pair) -> None:
    one, two = pair
    ada = await sign_up(one, "ada@example.com")
    page = {**ada.headers, "origin": "https://app.example"}
    assert (await two.get("/api/characters", headers=page)).status_code == 403

    allowed = await one.patch(
        "/clients/me/settings",
        json={"allowed_origins": ["https://app.example"]},
        headers=ada.headers,
    )
    assert allowed.status_code == 200

    response = await two.get("/api/characters", headers=page)
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "https://app.example"
