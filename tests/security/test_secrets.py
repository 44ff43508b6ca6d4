"""Secrets (issue 8.4): no API key, password or message content in any log line of a full run,
keys stored only as SHA-256 digests, and the service key compared in constant time."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import inspect
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import asyncpg
import httpx
import pytest

from fastwrap.adapters.bundles import Storage
from fastwrap.container import make_container
from fastwrap.settings import Settings
from tests.security.conftest import logged_text
from tests.security.live import live_server
from tests.support.app import SERVICE_KEY, STRONG_PASSWORD, app_client, hermetic_settings
from tests.support.services import integration

HEX_DIGEST = re.compile(r"^[0-9a-f]{64}$")
PASSWORDS = {
    "first": "First-Secret-pw-1",
    "second": "Second-Secret-pw-2",
    "admin": "Admin-Secret-pw-3",
    "created": "Created-Secret-pw-4",
    "changed": "Changed-Secret-pw-5",
    "wrong": "Wrong-Secret-pw-6",
}
CONTENT = ["prompt-never-logged", "message-never-logged", "snippet-never-logged"]


def settings_for(request: pytest.FixtureRequest) -> Settings:
    if request.param == "postgres":
        dsn = request.getfixturevalue("pg_dsn")
        return hermetic_settings(fastwrap_storage="postgres", database_url=dsn)
    return hermetic_settings()


@pytest.fixture(params=["memory", integration("postgres")])
def settings(request: pytest.FixtureRequest) -> Settings:
    return settings_for(request)


class Flow:
    """Every route that takes or hands out a secret, in the order a real tenant would go."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.secrets: list[str] = [*PASSWORDS.values(), *CONTENT, SERVICE_KEY]

    async def call(self, method: str, path: str, status: int, **kwargs: Any) -> dict[str, Any]:
        response = await self.client.request(method, path, **kwargs)
        assert response.status_code == status, (path, response.text)
        if response.headers.get("content-type") != "application/json":
            return {}  # 204, or an event stream
        body: dict[str, Any] = response.json()
        data = body.get("data")
        if isinstance(data, dict) and "api_key" in data:
            self.secrets.append(data["api_key"])
        return body

    async def tenant(self) -> str:
        creds = {"email": "flow@example.com", "password": PASSWORDS["first"]}
        first = await self.call("POST", "/auth/signup", 201, json=creds)
        await self.call("POST", "/auth/login", 200, json=creds)
        wrong = {**creds, "password": PASSWORDS["wrong"]}
        await self.call("POST", "/auth/login", 401, json=wrong)
        key = (await self.call("POST", "/auth/login", 200, json=creds))["data"]["api_key"]
        await self.call("GET", "/api/characters", 401, headers=_key(first["data"]["api_key"]))
        change = {"current_password": PASSWORDS["first"], "password": PASSWORDS["second"]}
        await self.call("PATCH", "/clients/me", 200, json=change, headers=_key(key))
        fresh = await self.call("POST", "/clients/me/regenerate-key", 201, headers=_key(key))
        return str(fresh["api_key"])

    async def work(self, key: str) -> None:
        headers = _key(key)
        made = await self.call(
            "POST", "/api/characters", 201, json={"agent_role": CONTENT[0]}, headers=headers
        )
        chat = {"character_id": made["data"]["id"], "content": CONTENT[1]}
        await self.call("POST", "/api/chat", 201, json=chat, headers=headers)
        await self.call("POST", "/api/chat", 201, json={**chat, "stream": True}, headers=headers)
        snippet = {"entity_type": "doc", "entity_id": "d1", "content": CONTENT[2]}
        await self.call("POST", "/api/vectors/upsert", 201, json=snippet, headers=headers)
        await self.call(
            "POST", "/api/vectors/search", 200, json={"query": CONTENT[2]}, headers=headers
        )

    async def admin(self) -> None:
        creds = {"email": "root@example.com", "password": PASSWORDS["admin"]}
        wrong = {"x-fastwrap-api-key": SERVICE_KEY[::-1]}
        self.secrets.append(SERVICE_KEY[::-1])
        await self.call("POST", "/internal/bootstrap-admin", 401, json=creds, headers=wrong)
        service = {"x-fastwrap-api-key": SERVICE_KEY}
        root = await self.call(
            "POST", "/internal/bootstrap-admin", 201, json=creds, headers=service
        )
        headers = _key(root["data"]["api_key"])
        created = {"email": "made@example.com", "password": PASSWORDS["created"]}
        made = await self.call("POST", "/admin/clients", 201, json=created, headers=headers)
        patch = {"password": PASSWORDS["changed"]}
        path = f"/admin/clients/{made['data']['id']}"
        await self.call("PATCH", path, 200, json=patch, headers=headers)
        await self.call("GET", "/admin/clients", 200, headers=headers)


def _key(key: str) -> dict[str, str]:
    return {"x-api-key": key}


async def test_a_full_run_logs_no_key_password_or_content(
    settings: Settings, logs: pytest.LogCaptureFixture
) -> None:
    async with (
        live_server(settings, access_log=True) as live,
        httpx.AsyncClient(base_url=live.url) as client,
    ):
        flow = Flow(client)
        key = await flow.tenant()
        await flow.work(key)
        await flow.admin()
        await flow.call("DELETE", "/clients/me", 204, headers=_key(key))
        await flow.call("GET", "/api/characters", 401, headers=_key(key))
    text = logged_text(logs)
    # Not vacuous: our access log and uvicorn's both wrote a line for the requests above.
    assert "fastwrap.access" in text
    assert "uvicorn.access" in text
    assert len(flow.secrets) >= len(PASSWORDS) + 6
    for secret in flow.secrets:
        assert secret not in text, f"{secret[:12]}... is in the log"


@pytest.fixture(params=["memory", integration("postgres")])
async def stored(
    request: pytest.FixtureRequest,
) -> AsyncIterator[tuple[httpx.AsyncClient, Callable[[], Awaitable[list[str]]]]]:
    """The app, and every stored client row as JSON text, straight from the store of record."""
    settings = settings_for(request)
    container = make_container(settings)
    async with app_client(settings, container) as client:

        async def rows() -> list[str]:
            if settings.database_url:
                conn = await asyncpg.connect(settings.database_url)
                try:
                    return [
                        r[0] for r in await conn.fetch("SELECT row_to_json(c)::text FROM clients c")
                    ]
                finally:
                    await conn.close()
            storage = container.storage()
            opened: Storage = await storage if inspect.isawaitable(storage) else storage
            found = await opened.clients.get_by_email("digest@example.com")
            assert found is not None
            return [json.dumps(dataclasses.asdict(found), default=str)]

        yield client, rows


async def test_a_client_is_stored_with_a_key_digest_and_a_bcrypt_hash_only(
    stored: tuple[httpx.AsyncClient, Callable[[], Awaitable[list[str]]]],
) -> None:
    client, rows = stored
    signed = await client.post(
        "/auth/signup", json={"email": "digest@example.com", "password": STRONG_PASSWORD}
    )
    key = signed.json()["data"]["api_key"]
    [row] = [json.loads(r) for r in await rows()]
    assert key not in json.dumps(row)
    assert STRONG_PASSWORD not in json.dumps(row)
    assert HEX_DIGEST.fullmatch(row["key_digest"])
    assert row["key_digest"] == hashlib.sha256(key.encode()).hexdigest()
    assert row["password_hash"].startswith("$2b$")
    # Authentication is a lookup by that digest: one character off is just another digest.
    near = key[:-1] + ("A" if key[-1] != "A" else "B")
    assert (await client.get("/api/characters", headers=_key(near))).status_code == 401
    assert (await client.get("/api/characters", headers=_key(key))).status_code == 200


async def test_the_service_key_is_compared_in_constant_time(
    memory_api: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    compared: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def watching(a: Any, b: Any) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", watching)
    creds = {"email": "root@example.com", "password": STRONG_PASSWORD}
    wrongs: list[str | bytes] = ["x", SERVICE_KEY[:-1] + "!", SERVICE_KEY + "x", "ключ".encode()]
    for wrong in wrongs:
        response = await memory_api.post(
            "/internal/bootstrap-admin", json=creds, headers={"x-fastwrap-api-key": wrong}
        )
        assert response.status_code == 401
    assert [a for a, _ in compared][:3] == [
        b"x",
        (SERVICE_KEY[:-1] + "!").encode(),
        (SERVICE_KEY + "x").encode(),
    ]
    assert {b for _, b in compared} == {SERVICE_KEY.encode()}
