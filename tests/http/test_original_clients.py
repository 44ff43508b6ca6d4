"""What the original FastWrap's own clients send, and must get (issue 13 §4; SPEC §5, §7)."""

from __future__ import annotations

import httpx
import pytest

from tests.support.app import STRONG_PASSWORD, Tenant, bootstrap_admin, make_character, sign_up


async def test_metadata_null_means_none(api: httpx.AsyncClient, alice: Tenant) -> None:
    one = {"entity_type": "doc", "entity_id": "1", "content": "Ahoy", "metadata": None}
    stored = await api.post("/api/vectors/upsert", json=one, headers=alice.headers)
    assert stored.status_code == 201, stored.text
    assert stored.json()["data"]["metadata"] == {}

    items = [{**one, "entity_id": "2"}]
    batch = await api.post("/api/vectors/upsert", json={"items": items}, headers=alice.headers)
    assert batch.status_code == 201, batch.text
    assert batch.json()["data"][0]["metadata"] == {}


async def test_an_email_keeps_its_local_part_and_is_one_address_whatever_its_case(
    api: httpx.AsyncClient,
) -> None:
    made = await sign_up(api, "nFcssRmpbJ@Example.COM")
    assert made.email == "nFcssRmpbJ@example.com"

    taken = await api.post(
        "/auth/signup", json={"email": "nfcssrmpbj@example.com", "password": STRONG_PASSWORD}
    )
    assert taken.status_code == 409
    login = await api.post(
        "/auth/login", json={"email": "NFCSSRMPBJ@example.com", "password": STRONG_PASSWORD}
    )
    assert login.status_code == 200
    assert login.json()["data"]["email"] == "nFcssRmpbJ@example.com"


async def test_admins_set_and_clear_subscription_store_name_and_phone(
    api: httpx.AsyncClient, alice: Tenant
) -> None:
    admin = await bootstrap_admin(api)
    profile = {"subscription": "basic", "store_name": "Ada's Ales", "phone": "+44 20 7946 0000"}
    created = await api.post(
        "/admin/clients",
        json={"email": "Shop@Example.com", "password": STRONG_PASSWORD, **profile},
        headers=admin.headers,
    )
    assert created.status_code == 201, created.text
    data = created.json()["data"]
    assert {k: data[k] for k in profile} == profile
    assert data["email"] == "Shop@example.com"

    url = f"/admin/clients/{data['id']}"
    patched = await api.patch(url, json={"subscription": "pro"}, headers=admin.headers)
    assert patched.status_code == 200
    assert {k: patched.json()["data"][k] for k in profile} == {**profile, "subscription": "pro"}
    cleared = await api.patch(url, json={"phone": None}, headers=admin.headers)
    assert cleared.json()["data"]["phone"] is None
    assert cleared.json()["data"]["subscription"] == "pro"

    too_long = await api.patch(url, json={"store_name": "x" * 201}, headers=admin.headers)
    assert too_long.status_code == 422
    assert (await api.get(url, headers=admin.headers)).json()["data"]["store_name"] == "Ada's Ales"


async def test_admins_see_soft_deleted_clients_when_they_ask(
    api: httpx.AsyncClient, alice: Tenant, bob: Tenant
) -> None:
    admin = await bootstrap_admin(api)
    assert (await api.delete(f"/admin/clients/{bob.id}", headers=admin.headers)).status_code == 204

    live = await api.get("/admin/clients", headers=admin.headers)
    assert {c["email"] for c in live.json()["data"]["items"]} == {alice.email, admin.email}
    everyone = await api.get("/admin/clients?include_deleted=true", headers=admin.headers)
    items = {c["email"]: c for c in everyone.json()["data"]["items"]}
    assert set(items) == {alice.email, admin.email, bob.email}
    assert items[bob.email]["deleted_at"] is not None
    assert items[alice.email]["deleted_at"] is None

    one = await api.get(f"/admin/clients/{bob.id}", headers=admin.headers)
    assert one.status_code == 200
    assert one.json()["data"]["deleted_at"] == items[bob.email]["deleted_at"]


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/clients/me", {"current_password": STRONG_PASSWORD, "email": "a@b.co", "plan": "pro"}),
        ("/api/characters/{character}", {"name": "Ada", "temprature": 0.2}),
        ("/admin/clients/{alice}", {"subscription": "pro", "stor_name": "typo"}),
    ],
    ids=["clients-me", "character", "admin-client"],
)
async def test_a_patch_with_a_field_the_route_does_not_know_is_422_and_changes_nothing(
    api: httpx.AsyncClient, alice: Tenant, path: str, body: dict[str, object]
) -> None:
    admin = await bootstrap_admin(api)
    character = await make_character(api, alice)
    url = path.format(character=character, alice=alice.id)
    headers = admin.headers if url.startswith("/admin") else alice.headers

    response = await api.patch(url, json=body, headers=headers)

    assert response.status_code == 422, response.text
    assert response.json()["error"] == "ValidationError"
    shown = await api.get(f"/admin/clients/{alice.id}", headers=admin.headers)
    assert (shown.json()["data"]["email"], shown.json()["data"]["subscription"]) == (
        alice.email, None,
    )  # fmt: skip
    got = await api.get(f"/api/characters/{character}", headers=alice.headers)
    assert got.json()["data"]["name"] is None


async def test_a_character_patch_still_takes_ttl_in_capitals(
    api: httpx.AsyncClient, alice: Tenant
) -> None:
    character = await make_character(api, alice)
    response = await api.patch(
        f"/api/characters/{character}", json={"TTL": 60}, headers=alice.headers
    )
    assert response.status_code == 200, response.text
    assert response.json()["data"]["ttl"] == 60
