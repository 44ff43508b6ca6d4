"""Tenant isolation (issue 8.2): every route that takes an id × {owner, other tenant, deleted
tenant, no key, admin}, on the memory adapters and on PostgreSQL.

Each row of ROUTES is one route; the expected status of every cell follows from whether the route
is a tenant's or an admin's. The unprivileged callers go first and must change nothing; then the
owner (or the admin) succeeds. No response, response header or log line seen by another caller
holds the owner's data, and another tenant's error is the same as a missing id's (SPEC §3).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from uuid import uuid4

import httpx
import pytest

from tests.security.conftest import logged_text
from tests.support.app import SERVICE_KEY, STRONG_PASSWORD, Tenant, make_character, sign_up

MISSING = {
    "character": "00000000-0000-4000-8000-000000000000",
    "client": "00000000-0000-4000-8000-000000000000",
    "conversation": "missing-conversation",
    "entity_id": "missing-entity",
}
ACTORS = ("other", "deleted", "none", "owner", "admin")


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    body: dict[str, Any] | None = None
    ok: int = 200  # the owner's status (the admin's, on admin routes)
    admin: bool = False

    def expected(self, actor: str) -> int:
        if actor in ("deleted", "none"):
            return 401
        if self.admin:
            return self.ok if actor == "admin" else 403
        return self.ok if actor == "owner" else 404

    @property
    def privileged(self) -> str:
        return "admin" if self.admin else "owner"

    def __str__(self) -> str:
        return f"{self.method} {self.path}" + (f" {json.dumps(self.body)}" if self.body else "")


CHAT = {"character_id": "{character}", "content": "hello"}
ROUTES = [
    Route("GET", "/api/characters/{character}"),
    Route("PATCH", "/api/characters/{character}", {"name": "stolen"}),
    Route("DELETE", "/api/characters/{character}", ok=204),
    Route("GET", "/api/conversations/{conversation}"),
    Route("DELETE", "/api/conversations/{conversation}", ok=204),
    Route("DELETE", "/api/vectors/note/{entity_id}", ok=204),
    Route("POST", "/api/chat", CHAT, ok=201),
    Route("POST", "/api/chat", {**CHAT, "conversation_id": "{conversation}"}, ok=201),
    Route("POST", "/api/chat", {**CHAT, "stream": True}, ok=201),
    Route("GET", "/admin/clients/{client}", admin=True),
    Route("PATCH", "/admin/clients/{client}", {"is_active": False}, admin=True),
    Route("DELETE", "/admin/clients/{client}", ok=204, admin=True),
]


@dataclass
class World:
    """The owner's resources, marked with strings no one else may ever see."""

    owner: Tenant
    keys: dict[str, dict[str, str]]
    ids: dict[str, str]
    content: list[str] = field(default_factory=list)  # never logged, even for the owner
    identity: list[str] = field(default_factory=list)

    @property
    def secrets(self) -> list[str]:
        return self.content + self.identity

    def fill(self, value: Any, ids: dict[str, str]) -> Any:
        if isinstance(value, str):
            return value.format(**ids)
        if isinstance(value, dict):
            return {k: self.fill(v, ids) for k, v in value.items()}
        return value

    async def call(
        self, api: httpx.AsyncClient, route: Route, actor: str, ids: dict[str, str] | None = None
    ) -> httpx.Response:
        ids = ids or self.ids
        body = self.fill(route.body, ids) if route.body is not None else None
        return await api.request(
            route.method, route.path.format(**ids), json=body, headers=self.keys[actor]
        )


async def build_world(api: httpx.AsyncClient) -> World:
    marker = uuid4().hex
    owner = await sign_up(api, f"owner-{marker[:8]}@example.com")
    other = await sign_up(api, "other@example.com")
    deleted = await sign_up(api, "deleted@example.com")
    assert (await api.delete("/clients/me", headers=deleted.headers)).status_code == 204
    admin = await api.post(
        "/internal/bootstrap-admin",
        json={"email": "admin@example.com", "password": STRONG_PASSWORD},
        headers={"x-fastwrap-api-key": SERVICE_KEY},
    )
    content = [f"prompt-{marker}", f"message-{marker}", f"note-{marker}", f"meta-{marker}"]
    content += [f"name-{marker}", owner.key]
    character = await make_character(api, owner, content[0], name=f"name-{marker}")
    conversation = f"conv-{marker}"
    turn = await api.post(
        "/api/chat",
        json={"character_id": character, "content": content[1], "conversation_id": conversation},
        headers=owner.headers,
    )
    assert turn.status_code == 201, turn.text
    upsert = await api.post(
        "/api/vectors/upsert",
        json={
            "entity_type": "note",
            "entity_id": f"n-{marker}",
            "content": content[2],
            "metadata": {"tag": content[3]},
        },
        headers=owner.headers,
    )
    assert upsert.status_code == 201, upsert.text
    ids = {"character": character, "conversation": conversation, "entity_id": f"n-{marker}"}
    ids["client"] = owner.id
    keys = {
        "owner": owner.headers,
        "other": other.headers,
        "deleted": deleted.headers,
        "none": {},
        "admin": {"x-api-key": admin.json()["data"]["api_key"]},
    }
    # What identifies the owner or its data: none of it may reach another caller.
    identity = [owner.email, owner.id, character, conversation, f"n-{marker}"]
    return World(owner, keys, ids, content, identity)


async def owner_view(api: httpx.AsyncClient, world: World) -> list[Any]:
    """Everything the owner can see of its resources, without the sliding expiry."""
    ids, headers = world.ids, world.owner.headers
    character = await api.get(f"/api/characters/{ids['character']}", headers=headers)
    history = await api.get(f"/api/conversations/{ids['conversation']}", headers=headers)
    hits = await api.post("/api/vectors/search", json={"query": "note"}, headers=headers)
    me = await api.get(f"/admin/clients/{ids['client']}", headers=world.keys["admin"])
    assert history.status_code == 200, history.text
    history_data = {k: v for k, v in history.json()["data"].items() if k != "expires_at"}
    return [character.json(), history_data, hits.json()["data"], me.json()["data"]]


def assert_none_in(secrets: list[str], *texts: str) -> None:
    for text in texts:
        for secret in secrets:
            assert secret not in text, f"{secret!r} leaked into: {text[:300]}"


def without_request_id(response: httpx.Response) -> dict[str, Any]:
    body: dict[str, Any] = response.json()
    body.pop("request_id", None)
    return body


@pytest.mark.parametrize("route", ROUTES, ids=str)
async def test_every_cell_of_the_matrix(
    api: httpx.AsyncClient, logs: pytest.LogCaptureFixture, route: Route
) -> None:
    world = await build_world(api)
    before = await owner_view(api, world)

    for actor in (a for a in ACTORS if a != route.privileged):
        logs.clear()
        response = await world.call(api, route, actor)
        assert response.status_code == route.expected(actor), (actor, response.text)
        # The owner may see itself (on admin routes it is refused, not a stranger).
        secrets = world.content if actor == "owner" else world.secrets
        assert_none_in(secrets, response.text, str(response.headers), logged_text(logs))
        if response.status_code == 404:  # indistinguishable from an id that never existed
            missing = await world.call(api, route, actor, {**world.ids, **MISSING})
            assert without_request_id(missing) == without_request_id(response)
    assert await owner_view(api, world) == before, "an unprivileged call changed something"

    logs.clear()
    done = await world.call(api, route, route.privileged)
    assert done.status_code == route.ok, done.text
    assert_none_in(world.content, logged_text(logs))


async def test_lists_search_knowledge_and_shared_ids_never_cross_tenants(
    api: httpx.AsyncClient, logs: pytest.LogCaptureFixture
) -> None:
    world = await build_world(api)
    before = await owner_view(api, world)
    logs.clear()
    other = world.keys["other"]
    seen: list[httpx.Response] = [
        await api.get("/api/characters", headers=other),
        await api.post("/api/vectors/search", json={"query": "note"}, headers=other),
    ]
    assert seen[0].json()["data"]["items"] == []
    assert seen[1].json()["data"] == []
    # Knowledge of the same entity type retrieves only the caller's own snippets.
    knowing = await api.post(
        "/api/characters",
        json={
            "agent_role": "A librarian.",
            "knowledge": {"entity_types": ["note"], "min_score": -1},
        },
        headers=other,
    )
    # The owner's conversation id, reused by another tenant, is a conversation of its own.
    turn = await api.post(
        "/api/chat",
        json={
            "character_id": knowing.json()["data"]["id"],
            "content": "note",
            "conversation_id": world.ids["conversation"],
        },
        headers=other,
    )
    assert turn.status_code == 201, turn.text
    assert turn.json()["data"]["sources"] == []
    assert "| turn 1 |" in turn.json()["data"]["reply"]["content"]
    seen += [knowing, turn]
    # The caller chose the conversation id itself, so it may see that one.
    secrets = [s for s in world.secrets if s != world.ids["conversation"]]
    for response in seen:
        assert_none_in(secrets, response.text)
    assert_none_in(secrets, logged_text(logs))
    assert await owner_view(api, world) == before

    listed = await api.get("/admin/clients", headers=world.keys["admin"])
    for client in listed.json()["data"]["items"]:
        assert set(client) == {
            *("id", "email", "is_admin", "is_active", "created_at", "updated_at", "deleted_at"),
            *("subscription", "store_name", "phone", "token_budget_daily", "token_budget_monthly"),
        }  # never the password hash or the key digest
