"""Scopes (SPEC §13): every route group × {a key of each single scope, the primary key, an
end-user token}, on the memory adapters and on PostgreSQL.

Each row of ROUTES is one route and the scope it needs. A key without it gets 403 naming the
missing scope, an end-user token gets 403 except on the routes that serve end users (chat and
that end user's conversations), and none of the refused calls changes anything. Then the callers
that may use the route do (a destructive route only once, by the first of them).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from uuid import uuid4

import httpx
import pytest

from tests.security.test_isolation_matrix import World
from tests.support.app import STRONG_PASSWORD, make_character, sign_up
from tests.support.keys import create_key, issue_token

SCOPED = ("chat", "read", "write", "account")
ACTORS = (*SCOPED, "token", "primary")
MISSING_ID = "00000000-0000-4000-8000-000000000000"


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    scope: str
    body: dict[str, Any] | None = None
    ok: int = 200
    end_users: bool = False  # an end-user token may call it
    raw: str | None = None  # an NDJSON body instead of `body`

    def allowed(self, actor: str) -> bool:
        if actor == "token":
            return self.end_users
        return actor in ("primary", self.scope)

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


CHAT = {"character_id": "{character}", "content": "hello", "conversation_id": "{conversation}"}
TOKEN = {"character_id": "{character}", "end_user": "u"}
NOTE = {"entity_type": "note", "entity_id": "n-new", "content": "a new note"}
DOCUMENT = {"entity_type": "doc", "document_id": "d-1", "content": "A short document."}
IMPORT = json.dumps({"entity_type": "note", "entity_id": "n-imported", "content": "imported"})
ROUTES = [
    Route("POST", "/api/chat", "chat", CHAT, ok=201, end_users=True),
    Route("POST", "/api/chat", "chat", {**CHAT, "stream": True}, ok=201, end_users=True),
    Route("GET", "/api/conversations/{conversation}", "chat", end_users=True),
    Route("DELETE", "/api/conversations/{conversation}", "chat", ok=204, end_users=True),
    Route(
        "POST",
        "/api/end-user-tokens",
        "chat",
        {"character_id": "{character}", "end_user": "u"},
        201,
    ),
    Route("GET", "/api/characters", "read"),
    Route("GET", "/api/characters/{character}", "read"),
    Route("POST", "/api/vectors/search", "read", {"query": "note"}),
    Route("GET", "/api/documents", "read"),
    Route("GET", f"/api/jobs/{MISSING_ID}", "read", ok=404),
    Route("GET", "/api/usage", "read"),
    Route("POST", "/api/characters", "write", {"agent_role": "You are new."}, ok=201),
    Route("PATCH", "/api/characters/{character}", "write", {"name": "renamed"}),
    Route("DELETE", "/api/characters/{character}", "write", ok=204),
    Route("POST", "/api/vectors/upsert", "write", NOTE, ok=201),
    Route("POST", "/api/vectors/import", "write", ok=201, raw=IMPORT),
    Route("DELETE", "/api/vectors/note/{entity_id}", "write", ok=204),
    Route("POST", "/api/documents", "write", DOCUMENT, ok=201),
    Route("DELETE", "/api/documents/doc/missing", "write", ok=404),
    Route("PATCH", "/clients/me", "account", {"email": "{email}", "current_password": "{pw}"}),
    Route("POST", "/clients/me/regenerate-key", "account", ok=201),
    Route("DELETE", "/clients/me", "account", ok=204),
    Route("GET", "/clients/me/keys", "account"),
    Route("POST", "/clients/me/keys", "account", {"name": "n", "scopes": ["account"]}, ok=201),
    Route("DELETE", "/clients/me/keys/{key}", "account", ok=204),
    Route("GET", "/clients/me/settings", "account"),
    Route("PATCH", "/clients/me/settings", "account", {"end_user_daily_tokens": 5}),
]


async def build_world(api: httpx.AsyncClient) -> World:
    marker = uuid4().hex
    owner = await sign_up(api, f"owner-{marker[:8]}@example.com")
    character = await make_character(api, owner)
    conversation = f"conv-{marker}"
    turn = await api.post(
        "/api/chat",
        json={
            "character_id": character,
            "content": "hi",
            "conversation_id": conversation,
            "end_user": "alice",
        },
        headers=owner.headers,
    )
    assert turn.status_code == 201, turn.text
    upsert = {"entity_type": "note", "entity_id": "n-1", "content": "a note"}
    assert (await api.post("/api/vectors/upsert", json=upsert, headers=owner.headers)).is_success
    keys: dict[str, dict[str, str]] = {"primary": owner.headers}
    for scope in SCOPED:
        keys[scope] = {"x-api-key": await create_key(api, owner.headers, [scope])}
    token = await issue_token(api, owner.headers, character, "alice")
    keys["token"] = {"x-api-key": token}
    victim = await api.post(
        "/clients/me/keys", json={"name": "victim", "scopes": ["read"]}, headers=owner.headers
    )
    ids = {
        "character": character,
        "conversation": conversation,
        "entity_id": "n-1",
        "key": victim.json()["data"]["id"],
        "email": f"new-{marker[:8]}@example.com",
        "pw": STRONG_PASSWORD,
    }
    return World(owner, keys, ids)


async def call(api: httpx.AsyncClient, world: World, route: Route, actor: str) -> httpx.Response:
    path = route.path.format(**world.ids)
    headers = world.keys[actor]
    if route.raw is not None:
        ndjson = {**headers, "content-type": "application/x-ndjson"}
        return await api.request(route.method, path, content=route.raw, headers=ndjson)
    body = world.fill(route.body, world.ids) if route.body is not None else None
    return await api.request(route.method, path, json=body, headers=headers)


async def snapshot(api: httpx.AsyncClient, world: World) -> list[Any]:
    headers = world.owner.headers
    ids = world.ids
    reads = [
        await api.get("/api/characters", headers=headers),
        await api.get(f"/api/conversations/{ids['conversation']}", headers=headers),
        await api.post("/api/vectors/search", json={"query": "note"}, headers=headers),
        await api.get("/api/documents", headers=headers),
        await api.get("/clients/me/keys", headers=headers),
        await api.get("/clients/me/settings", headers=headers),
    ]
    views = []
    for response in reads:
        assert response.status_code == 200, response.text
        data = response.json()["data"]
        if isinstance(data, dict):
            data.pop("expires_at", None)
            for item in data.get("items", []):
                item.pop("last_used_at", None)
        views.append(data)
    return views


@pytest.mark.parametrize("route", ROUTES, ids=str)
async def test_every_scope_against_every_route(api: httpx.AsyncClient, route: Route) -> None:
    world = await build_world(api)
    before = await snapshot(api, world)

    for actor in (a for a in ACTORS if not route.allowed(a)):
        response = await call(api, world, route, actor)
        assert response.status_code == 403, (actor, response.text)
        body = response.json()
        if actor == "token":
            assert body["error"] == "Forbidden"
        else:
            assert body["error"] == "InsufficientScope"
            assert repr(route.scope) in body["detail"]
    assert await snapshot(api, world) == before, "a refused call changed something"

    allowed = [a for a in ACTORS if route.allowed(a)]
    if route.method == "DELETE" or route.ok == 204 or "regenerate" in route.path:
        allowed = allowed[:1]
    for actor in allowed:
        response = await call(api, world, route, actor)
        assert response.status_code == route.ok, (actor, response.text)


async def test_admin_routes_need_the_account_scope_too(api: httpx.AsyncClient) -> None:
    from tests.support.app import bootstrap_admin

    admin = await bootstrap_admin(api)
    chat_only = {"x-api-key": await create_key(api, admin.headers, ["chat"])}
    account = {"x-api-key": await create_key(api, admin.headers, ["account"])}

    refused = await api.get("/admin/clients", headers=chat_only)
    assert refused.status_code == 403
    assert refused.json()["error"] == "InsufficientScope"
    assert (await api.get("/admin/clients", headers=account)).status_code == 200
