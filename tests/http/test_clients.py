"""Sign-up, log-in, keys and self-service (SPEC §4, §5)."""

from __future__ import annotations

import httpx

from tests.support.app import STRONG_PASSWORD, Tenant, make_character, sign_up


async def test_signup_returns_the_client_and_its_key_once(api: httpx.AsyncClient) -> None:
    response = await api.post(
        "/auth/signup", json={"email": " Carol@Example.com", "password": STRONG_PASSWORD}
    )
    assert response.status_code == 201
    data = response.json()["data"]
    assert data["email"] == "Carol@example.com"  # as given, but the domain lower-cased
    assert data["api_key"].startswith("fw_")
    assert "password_hash" not in data
    assert "key_digest" not in data
    me = await api.get("/api/characters", headers={"x-api-key": data["api_key"]})
    assert me.status_code == 200


async def test_taken_email_is_a_conflict_whatever_its_case(
    api: httpx.AsyncClient, alice: Tenant
) -> None:
    response = await api.post(
        "/auth/signup", json={"email": "ALICE@example.com", "password": STRONG_PASSWORD}
    )
    assert response.status_code == 409
    assert response.json()["error"] == "Conflict"


async def test_weak_password_lists_every_failed_rule(api: httpx.AsyncClient) -> None:
    response = await api.post("/auth/signup", json={"email": "d@example.com", "password": "short"})
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "PasswordPolicyViolation"
    assert len(body["rules"]) == 4  # length, uppercase, digit, special
    assert "short" not in response.text


async def test_bad_email_is_422(api: httpx.AsyncClient) -> None:
    response = await api.post("/auth/signup", json={"email": "nope", "password": STRONG_PASSWORD})
    assert response.status_code == 422


async def test_missing_or_unknown_key_is_401(api: httpx.AsyncClient) -> None:
    for headers in ({}, {"x-api-key": "fw_unknown"}, {"x-api-key": ""}):
        response = await api.get("/api/characters", headers=headers)
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "ApiKey"
        assert response.json()["error"] == "Unauthorized"


async def test_login_issues_a_fresh_key_and_kills_the_old(
    api: httpx.AsyncClient, alice: Tenant
) -> None:
    response = await api.post(
        "/auth/login", json={"email": "Alice@example.com", "password": STRONG_PASSWORD}
    )
    assert response.status_code == 200
    new_key = response.json()["data"]["api_key"]
    assert new_key != alice.key
    assert (await api.get("/api/characters", headers=alice.headers)).status_code == 401
    assert (await api.get("/api/characters", headers={"x-api-key": new_key})).status_code == 200


async def test_login_failures_look_the_same(api: httpx.AsyncClient, alice: Tenant) -> None:
    wrong = await api.post(
        "/auth/login", json={"email": alice.email, "password": "Wrong-password-1"}
    )
    unknown = await api.post(
        "/auth/login", json={"email": "nobody@example.com", "password": "Wrong-password-1"}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert {k: v for k, v in wrong.json().items() if k != "request_id"} == {
        k: v for k, v in unknown.json().items() if k != "request_id"
    }
    assert (await api.get("/api/characters", headers=alice.headers)).status_code == 200


async def test_regenerated_key_kills_the_old_one_at_once(
    api: httpx.AsyncClient, alice: Tenant
) -> None:
    response = await api.post("/clients/me/regenerate-key", headers=alice.headers)
    assert response.status_code == 201
    body = response.json()
    assert body["api_key"] == body["data"]["api_key"] != alice.key
    assert (await api.get("/api/characters", headers=alice.headers)).status_code == 401
    fresh = {"x-api-key": body["api_key"]}
    assert (await api.get("/api/characters", headers=fresh)).status_code == 200


async def test_patch_me_changes_exactly_one_field(api: httpx.AsyncClient, alice: Tenant) -> None:
    both = {
        "current_password": STRONG_PASSWORD,
        "email": "a2@example.com",
        "password": "X-new-pass-1",
    }
    assert (await api.patch("/clients/me", json=both, headers=alice.headers)).status_code == 422
    neither = {"current_password": STRONG_PASSWORD}
    assert (await api.patch("/clients/me", json=neither, headers=alice.headers)).status_code == 422
    wrong = {"current_password": "Not-the-one-1", "email": "a2@example.com"}
    assert (await api.patch("/clients/me", json=wrong, headers=alice.headers)).status_code == 401

    ok = {"current_password": STRONG_PASSWORD, "email": "A2@example.com"}
    response = await api.patch("/clients/me", json=ok, headers=alice.headers)
    assert response.status_code == 200
    assert response.json()["data"]["email"] == "A2@example.com"

    change = {"current_password": STRONG_PASSWORD, "password": "Brand-new-pass-2"}
    assert (await api.patch("/clients/me", json=change, headers=alice.headers)).status_code == 200
    old = await api.post(
        "/auth/login", json={"email": "a2@example.com", "password": STRONG_PASSWORD}
    )
    assert old.status_code == 401
    new = await api.post(
        "/auth/login", json={"email": "a2@example.com", "password": "Brand-new-pass-2"}
    )
    assert new.status_code == 200


async def test_email_change_to_a_taken_email_conflicts(
    api: httpx.AsyncClient, alice: Tenant, bob: Tenant
) -> None:
    body = {"current_password": STRONG_PASSWORD, "email": bob.email}
    assert (await api.patch("/clients/me", json=body, headers=alice.headers)).status_code == 409


async def test_deleted_client_key_dies_and_its_characters_go(
    api: httpx.AsyncClient, alice: Tenant
) -> None:
    await make_character(api, alice)
    assert (await api.delete("/clients/me", headers=alice.headers)).status_code == 204
    assert (await api.get("/api/characters", headers=alice.headers)).status_code == 401
    again = await sign_up(api, alice.email)  # the email is free again
    listed = await api.get("/api/characters", headers=again.headers)
    assert listed.json()["data"]["items"] == []
