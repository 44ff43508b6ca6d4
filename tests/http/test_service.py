"""Service routes and cross-cutting behaviour: ids, health, body limit, errors, rate limits."""

from __future__ import annotations

import httpx

from tests.support.app import Tenant, app_client, hermetic_settings, sign_up


async def test_root_and_docs(api: httpx.AsyncClient) -> None:
    info = (await api.get("/")).json()
    assert info["data"]["name"] == "FastWrap"
    assert info["data"]["docs_url"] == "/docs"
    assert (await api.get("/docs")).status_code == 200
    spec = (await api.get("/openapi.json")).json()
    assert "/api/chat" in spec["paths"]


async def test_health_reports_each_dependency(api: httpx.AsyncClient) -> None:
    response = await api.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"postgres", "redis", "llm", "embeddings"}
    assert body["checks"]["llm"]["adapter"] == "offline"
    assert body["checks"]["redis"]["adapter"] == "in-process"
    assert body["checks"]["postgres"]["adapter"] in {"memory", "postgres"}


async def test_request_id_is_echoed_or_made(api: httpx.AsyncClient) -> None:
    echoed = await api.get("/", headers={"x-request-id": "abc-123"})
    assert echoed.headers["x-request-id"] == "abc-123"
    made = await api.get("/", headers={"x-request-id": "bad id\twith junk"})
    assert len(made.headers["x-request-id"]) == 32
    failed = await api.get("/api/characters")
    assert failed.json()["request_id"] == failed.headers["x-request-id"]


async def test_large_body_is_413(api: httpx.AsyncClient, alice: Tenant) -> None:
    body = {"agent_role": "x" * (1024 * 1024 + 1)}
    response = await api.post("/api/characters", json=body, headers=alice.headers)
    assert response.status_code == 413
    assert response.json()["error"] == "PayloadTooLarge"


async def test_unknown_route_and_malformed_json(api: httpx.AsyncClient, alice: Tenant) -> None:
    missing = await api.get("/nope")
    assert missing.status_code == 404
    assert missing.json()["error"] == "NotFound"
    broken = await api.post(
        "/api/characters",
        content=b'{"agent_role": ',
        headers={**alice.headers, "content-type": "application/json"},
    )
    assert broken.status_code == 422


async def test_rate_limit_answers_429_with_headers() -> None:
    settings = hermetic_settings(rate_limit_enabled=True, rate_limit_api="3/minute")
    async with app_client(settings) as api:
        tenant = await sign_up(api, "limited@example.com")
        statuses = []
        for _ in range(5):
            response = await api.get("/api/characters", headers=tenant.headers)
            statuses.append(response.status_code)
            assert response.headers["ratelimit-limit"] == "3"
        assert statuses == [200, 200, 200, 429, 429]
        assert int(response.headers["retry-after"]) >= 1
        assert response.headers["ratelimit-remaining"] == "0"
        assert response.json()["error"] == "RateLimited"


async def test_auth_routes_are_limited_per_ip() -> None:
    settings = hermetic_settings(rate_limit_enabled=True, rate_limit_auth="2/minute")
    async with app_client(settings) as api:
        body = {"email": "x@example.com", "password": "Wrong-password-1"}
        statuses = [(await api.post("/auth/login", json=body)).status_code for _ in range(3)]
        assert statuses == [401, 401, 429]
