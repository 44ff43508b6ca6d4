"""CORS from the tenant's `allowed_origins` (SPEC §13): preflights answered only for an allowed
origin; a key or token sent from another origin refused; the playground's own origin is not
cross-origin. On the memory adapters and on PostgreSQL."""

from __future__ import annotations

import httpx
import pytest

from tests.support.app import Tenant, make_character
from tests.support.keys import issue_token

APP = "https://app.example"
EVIL = "https://evil.example"


def preflight(origin: str, method: str = "POST") -> dict[str, str]:
    return {
        "origin": origin,
        "access-control-request-method": method,
        "access-control-request-headers": "x-api-key, content-type",
    }


async def allow(api: httpx.AsyncClient, tenant: Tenant, *origins: str) -> None:
    response = await api.patch(
        "/clients/me/settings", json={"allowed_origins": list(origins)}, headers=tenant.headers
    )
    assert response.status_code == 200, response.text


async def test_a_preflight_is_answered_only_for_an_allowed_origin(
    api: httpx.AsyncClient, alice: Tenant
) -> None:
    refused = await api.options("/api/chat", headers=preflight(APP))
    assert refused.status_code == 403
    assert "access-control-allow-origin" not in refused.headers

    await allow(api, alice, APP)

    answered = await api.options("/api/chat", headers=preflight(APP))
    assert answered.status_code == 204
    assert answered.headers["access-control-allow-origin"] == APP
    assert "POST" in answered.headers["access-control-allow-methods"]
    assert "x-api-key" in answered.headers["access-control-allow-headers"]
    assert "authorization" in answered.headers["access-control-allow-headers"]
    assert answered.headers["vary"] == "Origin"
    for origin in (EVIL, "null", APP + ":8443", APP.replace("https", "http")):
        other = await api.options("/api/chat", headers=preflight(origin))
        assert other.status_code == 403, origin
        assert "access-control-allow-origin" not in other.headers


async def test_a_preflight_outside_the_api_is_refused(
    api: httpx.AsyncClient, alice: Tenant
) -> None:
    await allow(api, alice, APP)
    assert (await api.options("/admin/clients", headers=preflight(APP))).status_code == 403


async def test_an_end_user_token_works_from_an_allowed_origin(
    api: httpx.AsyncClient, alice: Tenant
) -> None:
    await allow(api, alice, APP)
    character = await make_character(api, alice)
    token = await issue_token(api, alice.headers, character, "alice")

    response = await api.post(
        "/api/chat",
        json={"character_id": character, "content": "hi"},
        headers={"x-api-key": token, "origin": APP},
    )

    assert response.status_code == 201, response.text
    assert response.headers["access-control-allow-origin"] == APP
    assert "x-request-id" in response.headers["access-control-expose-headers"]
    conversation = response.json()["data"]["conversation_id"]
    history = await api.get(
        f"/api/conversations/{conversation}", headers={"x-api-key": token, "origin": APP}
    )
    assert history.status_code == 200
    assert history.headers["access-control-allow-origin"] == APP


@pytest.mark.parametrize("credential", ["primary", "token"])
async def test_a_credential_from_a_foreign_origin_is_403(
    api: httpx.AsyncClient, alice: Tenant, credential: str
) -> None:
    await allow(api, alice, APP)
    character = await make_character(api, alice)
    secret = (
        alice.key
        if credential == "primary"
        else await issue_token(api, alice.headers, character, "alice")
    )
    body = {"character_id": character, "content": "hi", "conversation_id": "c-foreign"}

    response = await api.post("/api/chat", json=body, headers={"x-api-key": secret, "origin": EVIL})

    assert response.status_code == 403
    assert response.json()["error"] == "OriginNotAllowed"
    assert "access-control-allow-origin" not in response.headers
    missing = await api.get("/api/conversations/c-foreign", headers=alice.headers)
    assert missing.status_code == 404  # nothing ran


async def test_a_tenant_key_from_a_browser_is_refused_unless_its_origin_is_allowed(
    api: httpx.AsyncClient, alice: Tenant
) -> None:
    page = {**alice.headers, "origin": APP}
    assert (await api.get("/api/characters", headers=page)).status_code == 403
    await allow(api, alice, APP)
    response = await api.get("/api/characters", headers=page)
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == APP


async def test_another_tenants_origin_does_not_let_a_key_in(
    api: httpx.AsyncClient, alice: Tenant, bob: Tenant
) -> None:
    await allow(api, bob, APP)
    page = {**alice.headers, "origin": APP}
    assert (await api.get("/api/characters", headers=page)).status_code == 403


async def test_same_origin_requests_are_not_cross_origin(
    api: httpx.AsyncClient, alice: Tenant
) -> None:
    # The playground, served by FastWrap itself: its POSTs carry its own Origin.
    for origin in ("http://fastwrap.test", "https://fastwrap.test", "http://fastwrap.test:80"):
        own = {**alice.headers, "origin": origin}
        response = await api.post("/api/characters", json={"agent_role": "A."}, headers=own)
        assert response.status_code == 201, (origin, response.text)
        assert "access-control-allow-origin" not in response.headers


async def test_no_key_from_any_origin_is_still_401(api: httpx.AsyncClient) -> None:
    response = await api.get("/api/characters", headers={"origin": EVIL})
    assert response.status_code == 401
    assert "access-control-allow-origin" not in response.headers


async def test_a_token_over_its_budget_gets_a_429_its_page_can_read() -> None:
    from tests.support.app import app_client, hermetic_settings, sign_up

    settings = hermetic_settings(rate_limit_enabled=True, rate_limit_end_user="1/minute")
    async with app_client(settings) as api:
        alice = await sign_up(api, "alice@example.com")
        await allow(api, alice, APP)
        character = await make_character(api, alice)
        token = await issue_token(api, alice.headers, character, "alice")
        page = {"x-api-key": token, "origin": APP}
        body = {"character_id": character, "content": "hi"}

        assert (await api.post("/api/chat", json=body, headers=page)).status_code == 201
        refused = await api.post("/api/chat", json=body, headers=page)

        assert refused.status_code == 429
        assert refused.headers["access-control-allow-origin"] == APP
        assert "retry-after" in refused.headers["access-control-expose-headers"]
