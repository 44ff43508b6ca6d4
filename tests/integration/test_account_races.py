"""Account and character writes racing each other over HTTP, on PostgreSQL (issue 14, 1-4, 8).

Each test holds one request inside its use case, after bcrypt ran and before it writes
(tests/support/pauses.py), lets the competing request finish, then lets the first one go on:
the interleaving that used to lose an update, made certain instead of likely. The app is the
real one (with the key-lookup cache on, as `fastwrap serve` runs it); the memory adapters run
the same tests, so the fake keeps the same promises.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.support.app import (
    STRONG_PASSWORD,
    bootstrap_admin,
    hermetic_settings,
    sign_up,
)
from tests.support.pauses import PausingHasher, Wrap, app_with, meeting_on, pausing_hasher

NEW_PASSWORD = "Brand-new-pass-2"
EMAIL = "ada@example.com"


def race_settings(request: pytest.FixtureRequest) -> Any:
    if request.param == "memory":
        return hermetic_settings()
    return hermetic_settings(
        fastwrap_storage="postgres", database_url=request.getfixturevalue("pg_dsn")
    )


STORES = ["memory", pytest.param("postgres", marks=pytest.mark.integration)]


@pytest.fixture(params=STORES)
def settings(request: pytest.FixtureRequest) -> Any:
    return race_settings(request)


@pytest.fixture
def hasher(settings: Any) -> PausingHasher:
    return pausing_hasher(settings)


@pytest.fixture
async def api(settings: Any, hasher: PausingHasher) -> AsyncIterator[httpx.AsyncClient]:
    async with app_with(settings, hasher=hasher) as client:
        yield client


async def status(api: httpx.AsyncClient, key: str) -> int:
    return (await api.get("/api/characters", headers={"x-api-key": key})).status_code


async def log_in(api: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await api.post("/auth/login", json={"email": email, "password": password})


async def test_a_password_change_cannot_bring_back_a_key_revoked_meanwhile(
    api: httpx.AsyncClient, hasher: PausingHasher
) -> None:
    """Item 1: the change ran with K1, K1 was rotated to K2 before it wrote."""
    ada = await sign_up(api, EMAIL)
    held = hasher.hold_next("hash")  # the new password's hash: verified, about to write
    body = {"current_password": STRONG_PASSWORD, "password": NEW_PASSWORD}
    change = asyncio.create_task(api.patch("/clients/me", json=body, headers=ada.headers))
    await held.wait_reached()

    rotated = await api.post("/clients/me/regenerate-key", headers=ada.headers)
    assert rotated.status_code == 201
    held.release()
    refused = await change

    # The change was authorised by a key revoked before it wrote: refused, as if sent after.
    assert refused.status_code == 401, refused.text
    assert await status(api, ada.key) == 401
    assert await status(api, rotated.json()["api_key"]) == 200
    assert (await log_in(api, EMAIL, NEW_PASSWORD)).status_code == 401
    assert (await log_in(api, EMAIL, STRONG_PASSWORD)).status_code == 200


async def test_a_login_with_the_old_password_cannot_undo_a_password_change(
    api: httpx.AsyncClient, hasher: PausingHasher
) -> None:
    """Item 2: the login verified the old password; the change committed before it wrote."""
    ada = await sign_up(api, EMAIL)
    held = hasher.hold_next("verify")
    login = asyncio.create_task(log_in(api, EMAIL, STRONG_PASSWORD))
    await held.wait_reached()

    body = {"current_password": STRONG_PASSWORD, "password": NEW_PASSWORD}
    changed = await api.patch("/clients/me", json=body, headers=ada.headers)
    assert changed.status_code == 200
    held.release()
    stale = await login

    assert stale.status_code == 401  # it proved a password that is no longer the password
    assert await status(api, ada.key) == 200  # and it revoked nothing
    assert (await log_in(api, EMAIL, STRONG_PASSWORD)).status_code == 401
    assert (await log_in(api, EMAIL, NEW_PASSWORD)).status_code == 200


async def test_a_login_cannot_undo_an_admins_new_password(
    api: httpx.AsyncClient, hasher: PausingHasher
) -> None:
    admin = await bootstrap_admin(api)
    ada = await sign_up(api, EMAIL)
    held = hasher.hold_next("verify")
    login = asyncio.create_task(log_in(api, EMAIL, STRONG_PASSWORD))
    await held.wait_reached()

    url = f"/admin/clients/{ada.id}"
    reset = await api.patch(url, json={"password": NEW_PASSWORD}, headers=admin.headers)
    assert reset.status_code == 200
    held.release()

    assert (await login).status_code == 401
    assert (await log_in(api, EMAIL, NEW_PASSWORD)).status_code == 200


async def test_a_login_cannot_undo_a_deactivation(
    api: httpx.AsyncClient, hasher: PausingHasher
) -> None:
    """Item 3: an account that keeps logging in can still be switched off."""
    admin = await bootstrap_admin(api)
    ada = await sign_up(api, EMAIL)
    held = hasher.hold_next("verify")
    login = asyncio.create_task(log_in(api, EMAIL, STRONG_PASSWORD))
    await held.wait_reached()

    url = f"/admin/clients/{ada.id}"
    off = await api.patch(url, json={"is_active": False}, headers=admin.headers)
    assert off.status_code == 200
    held.release()

    assert (await login).status_code == 401
    assert await status(api, ada.key) == 401
    assert (await api.get(url, headers=admin.headers)).json()["data"]["is_active"] is False
    assert (await log_in(api, EMAIL, STRONG_PASSWORD)).status_code == 401


async def test_a_login_cannot_undo_a_demotion_or_an_email_change(
    api: httpx.AsyncClient, hasher: PausingHasher
) -> None:
    admin = await bootstrap_admin(api)
    made = await api.post(
        "/admin/clients",
        json={"email": EMAIL, "password": STRONG_PASSWORD, "is_admin": True},
        headers=admin.headers,
    )
    ada_id = made.json()["data"]["id"]
    held = hasher.hold_next("verify")
    login = asyncio.create_task(log_in(api, EMAIL, STRONG_PASSWORD))
    await held.wait_reached()

    url = f"/admin/clients/{ada_id}"
    change = {"is_admin": False, "email": "Ada.New@example.com", "subscription": "pro"}
    assert (await api.patch(url, json=change, headers=admin.headers)).status_code == 200
    held.release()
    logged_in = await login

    # The login proved the password of an active account: it gets a key, and changes nothing else.
    assert logged_in.status_code == 200
    data = (await api.get(url, headers=admin.headers)).json()["data"]
    assert (data["is_admin"], data["email"]) == (False, "Ada.New@example.com")
    assert data["subscription"] == "pro"
    key = {"x-api-key": logged_in.json()["data"]["api_key"]}
    assert (await api.get("/admin/clients", headers=key)).status_code == 403


@pytest.fixture
async def meeting_api(
    settings: Any, request: pytest.FixtureRequest
) -> AsyncIterator[httpx.AsyncClient]:
    wrap: Wrap = request.param
    async with app_with(settings, wrap=wrap) as client:
        yield client


@pytest.mark.parametrize("meeting_api", [meeting_on("characters", 2)], indirect=True)
async def test_two_patches_of_one_character_both_take_effect(
    meeting_api: httpx.AsyncClient,
) -> None:
    """Item 4: `name` and `agent_role` sent at once, both writers past their reads."""
    api = meeting_api
    ada = await sign_up(api, EMAIL)
    created = await api.post(
        "/api/characters", json={"name": "Ada", "agent_role": "You are Ada."}, headers=ada.headers
    )
    url = f"/api/characters/{created.json()['data']['id']}"

    renamed, reprompted = await asyncio.gather(
        api.patch(url, json={"name": "Grace"}, headers=ada.headers),
        api.patch(url, json={"agent_role": "You are Grace."}, headers=ada.headers),
    )

    assert renamed.status_code == reprompted.status_code == 200
    found = (await api.get(url, headers=ada.headers)).json()["data"]
    assert (found["name"], found["agent_role"]) == ("Grace", "You are Grace.")


ROTATIONS = 20


@pytest.mark.parametrize("meeting_api", [meeting_on("clients", ROTATIONS)], indirect=True)
async def test_of_parallel_rotations_from_one_key_each_201_hands_out_a_working_key(
    meeting_api: httpx.AsyncClient,
) -> None:
    """Item 8: twenty rotations with one key, every one past authentication before any writes.

    A rotation replaces the key that authorised it, so exactly one can: the others find that
    key revoked and get 401, as they would a moment later. No 201 hands out a dead key.
    """
    api = meeting_api
    ada = await sign_up(api, EMAIL)

    answers = await asyncio.gather(
        *(api.post("/clients/me/regenerate-key", headers=ada.headers) for _ in range(ROTATIONS))
    )

    issued = [a.json()["api_key"] for a in answers if a.status_code == 201]
    assert sorted(a.status_code for a in answers) == [201] + [401] * (ROTATIONS - 1)
    assert await status(api, issued[0]) == 200
    assert await status(api, ada.key) == 401

    # One after another, each key works until the next rotation, and only then dies.
    key = issued[0]
    for _ in range(3):
        answer = await api.post("/clients/me/regenerate-key", headers={"x-api-key": key})
        assert answer.status_code == 201
        assert await status(api, key) == 401
        key = answer.json()["api_key"]
        assert await status(api, key) == 200
