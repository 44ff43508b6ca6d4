"""Named keys (SPEC §13): shown once, listed by prefix, scoped, expiring, revoked at once; and
the client's settings. On the memory adapters and on PostgreSQL, with a clock the test moves."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

import httpx
import pytest
from dependency_injector import providers

from fastwrap.container import Services, make_container
from fastwrap.entrypoints.http.app import create_app
from tests.support.app import Tenant, hermetic_settings, make_character, sign_up
from tests.support.clock import ManualClock
from tests.support.keys import create_key, issue_token
from tests.support.services import integration


@dataclass
class Clocked:
    api: httpx.AsyncClient
    services: Services
    clock: ManualClock

    async def tenant(self, email: str = "ada@example.com") -> Tenant:
        return await sign_up(self.api, email)


@pytest.fixture(params=["memory", integration("postgres")])
async def clocked(request: pytest.FixtureRequest) -> AsyncIterator[Clocked]:
    if request.param == "postgres":
        dsn = request.getfixturevalue("pg_dsn")
        settings = hermetic_settings(fastwrap_storage="postgres", database_url=dsn)
    else:
        settings = hermetic_settings()
    container = make_container(settings)
    clock = ManualClock()
    container.clock.override(providers.Object(clock))
    app = create_app(container)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://fastwrap.test") as api:
            yield Clocked(api, app.state.services, clock)


async def test_a_key_is_shown_once_and_listed_by_its_prefix(clocked: Clocked) -> None:
    api = clocked.api
    ada = await clocked.tenant()
    created = await api.post(
        "/clients/me/keys",
        json={"name": "backend", "scopes": ["chat", "read"]},
        headers=ada.headers,
    )
    assert created.status_code == 201, created.text
    data = created.json()["data"]
    key = data["api_key"]
    assert key.startswith("fw_")
    assert len(key) == 46
    assert data["prefix"] == key[:8]
    assert data["scopes"] == ["chat", "read"]

    listed = await api.get("/clients/me/keys", headers=ada.headers)
    [item] = listed.json()["data"]["items"]
    assert item == {k: v for k, v in data.items() if k != "api_key"}
    assert key not in listed.text
    assert (await api.get("/api/characters", headers={"x-api-key": key})).status_code == 200


async def test_a_revoked_key_is_refused_at_once(clocked: Clocked) -> None:
    api = clocked.api
    ada = await clocked.tenant()
    created = await api.post(
        "/clients/me/keys", json={"name": "dash", "scopes": ["read"]}, headers=ada.headers
    )
    key, key_id = created.json()["data"]["api_key"], created.json()["data"]["id"]
    assert (await api.get("/api/characters", headers={"x-api-key": key})).status_code == 200

    assert (await api.delete(f"/clients/me/keys/{key_id}", headers=ada.headers)).status_code == 204

    refused = await api.get("/api/characters", headers={"x-api-key": key})
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"] == "ApiKey"
    assert (await api.get("/clients/me/keys", headers=ada.headers)).json()["data"]["items"] == []
    gone = await api.delete(f"/clients/me/keys/{key_id}", headers=ada.headers)
    assert gone.status_code == 404


async def test_another_tenants_key_cannot_be_revoked(clocked: Clocked) -> None:
    api = clocked.api
    ada, bob = await clocked.tenant(), await clocked.tenant("bob@example.com")
    created = await api.post(
        "/clients/me/keys", json={"name": "x", "scopes": ["read"]}, headers=ada.headers
    )
    key_id = created.json()["data"]["id"]

    assert (await api.delete(f"/clients/me/keys/{key_id}", headers=bob.headers)).status_code == 404
    assert (
        len((await api.get("/clients/me/keys", headers=ada.headers)).json()["data"]["items"]) == 1
    )


async def test_a_key_cannot_grant_more_than_it_holds(clocked: Clocked) -> None:
    api = clocked.api
    ada = await clocked.tenant()
    account = {"x-api-key": await create_key(api, ada.headers, ["account"])}

    wider = await api.post(
        "/clients/me/keys", json={"name": "w", "scopes": ["account", "chat"]}, headers=account
    )
    assert wider.status_code == 403
    assert "chat" in wider.json()["detail"]
    same = await api.post(
        "/clients/me/keys", json={"name": "s", "scopes": ["account"]}, headers=account
    )
    assert same.status_code == 201


async def test_a_key_cannot_create_a_key_that_outlives_it(clocked: Clocked) -> None:
    api = clocked.api
    ada = await clocked.tenant()
    soon = (clocked.clock.now() + timedelta(hours=1)).isoformat()
    later = (clocked.clock.now() + timedelta(hours=2)).isoformat()
    mortal = {"x-api-key": await create_key(api, ada.headers, ["account"], expires_at=soon)}

    for expires_at in (None, later):
        body = {"name": "k", "scopes": ["account"], "expires_at": expires_at}
        refused = await api.post("/clients/me/keys", json=body, headers=mortal)
        assert refused.status_code == 403, refused.text
    body = {"name": "k", "scopes": ["account"], "expires_at": soon}
    assert (await api.post("/clients/me/keys", json=body, headers=mortal)).status_code == 201


@pytest.mark.parametrize(
    "body",
    [
        {"name": "k", "scopes": []},
        {"name": "k", "scopes": ["admin"]},
        {"name": "", "scopes": ["read"]},
        {"name": "k" * 101, "scopes": ["read"]},
        {"name": "k", "scopes": ["read"], "expires_at": "2020-01-01T00:00:00Z"},
        {"name": "k", "scopes": ["read"], "expires_at": "2030-01-01T00:00:00"},  # no zone
        {"name": "k", "scopes": ["read"], "extra": 1},
        {"name": "k\x00", "scopes": ["read"]},
    ],
)
async def test_bad_key_requests_are_422_and_create_nothing(clocked: Clocked, body: object) -> None:
    api = clocked.api
    ada = await clocked.tenant()
    response = await api.post("/clients/me/keys", json=body, headers=ada.headers)
    assert response.status_code == 422, response.text
    assert (await api.get("/clients/me/keys", headers=ada.headers)).json()["data"]["items"] == []


async def test_an_expired_key_and_token_are_401(clocked: Clocked) -> None:
    api, clock = clocked.api, clocked.clock
    ada = await clocked.tenant()
    character = await make_character(api, ada)
    expires_at = (clock.now() + timedelta(hours=1)).isoformat()
    key = {"x-api-key": await create_key(api, ada.headers, ["chat", "read"], expires_at=expires_at)}
    token = {"x-api-key": await issue_token(api, ada.headers, character, "alice", ttl=60)}
    chat = {"character_id": character, "content": "hi"}
    assert (await api.get("/api/characters", headers=key)).status_code == 200
    assert (await api.post("/api/chat", json=chat, headers=token)).status_code == 201

    clock.advance(60)
    assert (await api.post("/api/chat", json=chat, headers=token)).status_code == 401
    assert (await api.get("/api/characters", headers=key)).status_code == 200
    clock.advance(3540)
    assert (await api.get("/api/characters", headers=key)).status_code == 401
    assert (await api.get("/api/characters", headers=ada.headers)).status_code == 200


async def test_a_token_never_outlives_the_key_that_issued_it(clocked: Clocked) -> None:
    api, clock = clocked.api, clocked.clock
    ada = await clocked.tenant()
    character = await make_character(api, ada)
    expires_at = clock.now() + timedelta(minutes=2)
    key = {
        "x-api-key": await create_key(api, ada.headers, ["chat"], expires_at=expires_at.isoformat())
    }
    issued = await api.post(
        "/api/end-user-tokens",
        json={"character_id": character, "end_user": "alice", "ttl": 3600},
        headers=key,
    )
    assert issued.status_code == 201
    assert issued.json()["data"]["expires_at"].startswith(expires_at.strftime("%Y-%m-%dT%H:%M"))


async def test_last_used_at_is_written_off_the_path_once_a_minute(clocked: Clocked) -> None:
    api, clock, services = clocked.api, clocked.clock, clocked.services
    ada = await clocked.tenant()
    key = {"x-api-key": await create_key(api, ada.headers, ["read"])}

    async def last_used() -> str | None:
        await services.key_usage.flush()
        [item] = (await api.get("/clients/me/keys", headers=ada.headers)).json()["data"]["items"]
        return item["last_used_at"]

    assert await last_used() is None
    await api.get("/api/characters", headers=key)
    first = await last_used()
    assert first is not None
    clock.advance(30)
    await api.get("/api/characters", headers=key)
    assert await last_used() == first
    clock.advance(31)
    await api.get("/api/characters", headers=key)
    later = await last_used()
    assert later is not None
    assert later > first


async def test_settings_are_read_and_changed_field_by_field(clocked: Clocked) -> None:
    api = clocked.api
    ada = await clocked.tenant()
    initial = await api.get("/clients/me/settings", headers=ada.headers)
    assert initial.json()["data"] == {"allowed_origins": [], "end_user_daily_tokens": None}

    origins = ["https://App.Example", "http://localhost:5173", "https://app.example:443"]
    changed = await api.patch(
        "/clients/me/settings", json={"allowed_origins": origins}, headers=ada.headers
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["data"]["allowed_origins"] == [
        "https://app.example",
        "http://localhost:5173",
    ]
    budget = await api.patch(
        "/clients/me/settings", json={"end_user_daily_tokens": 20000}, headers=ada.headers
    )
    assert budget.json()["data"] == {
        "allowed_origins": ["https://app.example", "http://localhost:5173"],
        "end_user_daily_tokens": 20000,
    }
    cleared = await api.patch(
        "/clients/me/settings", json={"end_user_daily_tokens": None}, headers=ada.headers
    )
    assert cleared.json()["data"]["end_user_daily_tokens"] is None
    again = await api.get("/clients/me/settings", headers=ada.headers)
    assert again.json()["data"] == cleared.json()["data"]


@pytest.mark.parametrize(
    "body",
    [
        {"allowed_origins": ["https://app.example/"]},
        {"allowed_origins": ["https://app.example/path"]},
        {"allowed_origins": ["*"]},
        {"allowed_origins": ["https://*.example"]},
        {"allowed_origins": ["ftp://app.example"]},
        {"allowed_origins": ["https://user@app.example"]},
        {"allowed_origins": ["https://app.example:99999"]},
        {"allowed_origins": ["app.example"]},
        {"allowed_origins": None},
        {"allowed_origins": ["https://a.example"] * 51},
        {"end_user_daily_tokens": -1},
        {"end_user_daily_tokens": "100"},
        {"end_user_daily_tokens": 1.5},
        {"theme": "dark"},
    ],
)
async def test_bad_settings_are_422_and_change_nothing(clocked: Clocked, body: object) -> None:
    api = clocked.api
    ada = await clocked.tenant()
    response = await api.patch("/clients/me/settings", json=body, headers=ada.headers)
    assert response.status_code == 422, response.text
    after = await api.get("/clients/me/settings", headers=ada.headers)
    assert after.json()["data"] == {"allowed_origins": [], "end_user_daily_tokens": None}
