"""Admin bootstrap and admin management of clients."""

from __future__ import annotations

import httpx

from tests.support.app import (
    SERVICE_KEY,
    STRONG_PASSWORD,
    Tenant,
    app_client,
    hermetic_settings,
    make_character,
)

CREDS = {"email": "root@example.com", "password": STRONG_PASSWORD}


async def bootstrap(api: httpx.AsyncClient) -> Tenant:
    response = await api.post(
        "/internal/bootstrap-admin", json=CREDS, headers={"x-fastwrap-api-key": SERVICE_KEY}
    )
    assert response.status_code == 201, response.text
    data = response.json()["data"]
    assert data["is_admin"] is True
    return Tenant(id=data["id"], email=data["email"], key=data["api_key"])


async def test_bootstrap_needs_the_service_key_and_happens_once(api: httpx.AsyncClient) -> None:
    bad = await api.post(
        "/internal/bootstrap-admin", json=CREDS, headers={"x-fastwrap-api-key": "x"}
    )
    assert bad.status_code == 401
    missing = await api.post("/internal/bootstrap-admin", json=CREDS)
    assert missing.status_code == 401
    await bootstrap(api)
    again = await api.post(
        "/internal/bootstrap-admin",
        json={"email": "root2@example.com", "password": STRONG_PASSWORD},
        headers={"x-fastwrap-api-key": SERVICE_KEY},
    )
    assert again.status_code == 409


async def test_internal_routes_are_off_without_a_service_key() -> None:
    async with app_client(hermetic_settings(fastwrap_api_key=None)) as api:
        response = await api.post(
            "/internal/bootstrap-admin", json=CREDS, headers={"x-fastwrap-api-key": "anything"}
        )
        assert response.status_code == 403


async def test_admin_routes_refuse_other_clients(api: httpx.AsyncClient, alice: Tenant) -> None:
    assert (await api.get("/admin/clients", headers=alice.headers)).status_code == 403
    assert (await api.get("/admin/clients")).status_code == 401


async def test_admin_manages_clients(api: httpx.AsyncClient, alice: Tenant) -> None:
    admin = await bootstrap(api)
    listed = await api.get("/admin/clients", headers=admin.headers)
    assert {c["email"] for c in listed.json()["data"]["items"]} == {alice.email, admin.email}
    assert all("api_key" not in c for c in listed.json()["data"]["items"])

    created = await api.post(
        "/admin/clients",
        json={"email": "made@example.com", "password": STRONG_PASSWORD},
        headers=admin.headers,
    )
    assert created.status_code == 201
    assert created.json()["data"]["api_key"].startswith("fw_")

    url = f"/admin/clients/{alice.id}"
    assert (await api.get(url, headers=admin.headers)).json()["data"]["email"] == alice.email
    off = await api.patch(url, json={"is_active": False}, headers=admin.headers)
    assert off.status_code == 200
    assert off.json()["data"]["is_active"] is False
    assert (await api.get("/api/characters", headers=alice.headers)).status_code == 401
    await api.patch(url, json={"is_active": True}, headers=admin.headers)
    assert (await api.get("/api/characters", headers=alice.headers)).status_code == 200

    await make_character(api, alice)
    assert (await api.delete(url, headers=admin.headers)).status_code == 204
    assert (await api.get("/api/characters", headers=alice.headers)).status_code == 401
    # Admins still see a deleted client, with deleted_at; writes find it gone.
    gone = await api.get(url, headers=admin.headers)
    assert gone.status_code == 200
    assert gone.json()["data"]["deleted_at"] is not None
    assert (
        await api.patch(url, json={"is_active": True}, headers=admin.headers)
    ).status_code == 404
    assert (await api.delete(url, headers=admin.headers)).status_code == 404


async def test_an_admin_cannot_delete_itself(api: httpx.AsyncClient) -> None:
    admin = await bootstrap(api)
    response = await api.delete(f"/admin/clients/{admin.id}", headers=admin.headers)
    assert response.status_code == 409
    assert (await api.get("/admin/clients", headers=admin.headers)).status_code == 200


async def test_bad_admin_ids_are_422_and_unknown_404(api: httpx.AsyncClient) -> None:
    admin = await bootstrap(api)
    assert (await api.get("/admin/clients/123", headers=admin.headers)).status_code == 422
    unknown = "/admin/clients/00000000-0000-4000-8000-000000000000"
    assert (await api.get(unknown, headers=admin.headers)).status_code == 404
