"""SPEC §8 over HTTP, on PostgreSQL and Redis: budgets per client (a new key resets nothing),
failed logins limited per account whatever the IP, IPv6 counted per /64, one Redis round trip.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import httpx
import pytest
from dependency_injector import providers

from fastwrap.adapters.security.hashing import BcryptPasswordHasher
from fastwrap.container import make_container
from tests.support.app import (
    STRONG_PASSWORD,
    Tenant,
    app_client,
    hermetic_settings,
    make_character,
    sign_up,
)
from tests.support.redis import TcpProxy, shift_redis_time

pytestmark = pytest.mark.integration

PROXY = "203.0.113.7"  # the test client's address: trusted, so X-Forwarded-For says who calls
FIFTEEN_MINUTES = 15 * 60

type Api = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
def limited_api(pg_dsn: str, redis_url: str, redis_namespace: str) -> Api:
    """Opens the app on PostgreSQL and Redis with rate limits on (overrides may be passed)."""

    @asynccontextmanager
    async def open_app(**overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
        settings = hermetic_settings(
            fastwrap_storage="postgres",
            database_url=pg_dsn,
            redis_url=redis_url,
            redis_key_prefix=redis_namespace,
            rate_limit_enabled=True,
            trusted_proxies=PROXY,
            **overrides,
        )
        async with app_client(settings, make_container(settings)) as api:
            yield api

    return open_app


async def chat(api: httpx.AsyncClient, tenant: Tenant, cid: str) -> httpx.Response:
    body = {"character_id": cid, "content": "hello", "conversation_id": "c1"}
    return await api.post("/api/chat", json=body, headers=tenant.headers)


async def log_in(
    api: httpx.AsyncClient, email: str, password: str, ip: str = "198.51.100.1"
) -> httpx.Response:
    body = {"email": email, "password": password}
    return await api.post("/auth/login", json=body, headers={"x-forwarded-for": ip})


async def test_a_new_key_does_not_reset_the_chat_budget(limited_api: Api) -> None:
    async with limited_api(rate_limit_chat="3/minute") as api:
        alice = await sign_up(api, "alice@example.com")
        cid = await make_character(api, alice)
        assert [(await chat(api, alice, cid)).status_code for _ in range(4)] == [201] * 3 + [429]

        rotated = await api.post("/clients/me/regenerate-key", headers=alice.headers)
        assert rotated.status_code == 201
        alice.key = rotated.json()["data"]["api_key"]
        refused = await chat(api, alice, cid)
        assert refused.status_code == 429
        assert refused.headers["ratelimit-limit"] == "3"

        logged_in = await log_in(api, alice.email, STRONG_PASSWORD)
        assert logged_in.status_code == 200
        alice.key = logged_in.json()["data"]["api_key"]
        assert (await chat(api, alice, cid)).status_code == 429
        # The budgets are the client's: another tenant still has its own.
        bob = await sign_up(api, "bob@example.com")
        assert (await chat(api, bob, await make_character(api, bob))).status_code == 201


async def test_every_route_of_a_client_shares_its_api_budget_across_keys(
    limited_api: Api,
) -> None:
    async with limited_api(rate_limit_api="4/minute") as api:
        alice = await sign_up(api, "alice@example.com")
        for _ in range(3):
            rotated = await api.post("/clients/me/regenerate-key", headers=alice.headers)
            assert rotated.status_code == 201
            assert rotated.headers["ratelimit-limit"] == "4"
            alice.key = rotated.json()["data"]["api_key"]
        statuses = [(await api.get("/api/characters", headers=alice.headers)).status_code]
        statuses.append((await api.get("/api/characters", headers=alice.headers)).status_code)
        assert statuses == [200, 429]


def comparable(response: httpx.Response) -> tuple[int, dict[str, Any], set[str]]:
    """Status, body without its request id, and which headers came: what tells two apart."""
    body = {k: v for k, v in response.json().items() if k != "request_id"}
    return response.status_code, body, set(response.headers) - {"x-request-id"}


async def test_failed_logins_are_limited_per_account_whatever_the_ip(limited_api: Api) -> None:
    async with limited_api(rate_limit_login_failures="3/15 minutes") as api:
        alice = await sign_up(api, "alice@example.com")
        for n in range(3):
            assert (
                await log_in(api, alice.email, "Wrong-password-1", f"192.0.2.{n}")
            ).status_code == 401

        refused = await log_in(api, alice.email, STRONG_PASSWORD, "192.0.2.99")
        assert refused.status_code == 429
        assert refused.json()["error"] == "RateLimited"
        retry = int(refused.headers["retry-after"])
        assert 0 < retry <= FIFTEEN_MINUTES
        assert refused.headers["ratelimit-limit"] == "3"
        assert refused.headers["ratelimit-remaining"] == "0"
        # An email without an account answers exactly the same way.
        for n in range(3):
            assert (
                await log_in(api, "nobody@example.com", "Wrong-1x", f"192.0.2.{n}")
            ).status_code == 401
        ghost = await log_in(api, "nobody@example.com", STRONG_PASSWORD, "192.0.2.99")
        assert comparable(ghost) == comparable(refused)
        # Other accounts log in as usual.
        bob = await sign_up(api, "bob@example.com")
        assert (await log_in(api, bob.email, STRONG_PASSWORD)).status_code == 200


async def test_the_account_logs_in_again_once_the_window_passes(
    limited_api: Api, redis_url: str, redis_namespace: str
) -> None:
    async with limited_api(rate_limit_login_failures="3/15 minutes") as api:
        alice = await sign_up(api, "alice@example.com")
        for _ in range(3):
            assert (await log_in(api, alice.email, "Wrong-password-1")).status_code == 401
        assert (await log_in(api, alice.email, STRONG_PASSWORD)).status_code == 429

        shift_redis_time(redis_url, redis_namespace, FIFTEEN_MINUTES)

        assert (await log_in(api, alice.email, STRONG_PASSWORD)).status_code == 200


async def test_only_failures_count_and_the_email_case_does_not_matter(limited_api: Api) -> None:
    async with limited_api(rate_limit_login_failures="3/15 minutes") as api:
        alice = await sign_up(api, "alice@example.com")
        for _ in range(5):
            assert (await log_in(api, alice.email, STRONG_PASSWORD)).status_code == 200
        for email in ("Alice@Example.com", "ALICE@EXAMPLE.COM", " alice@example.com"):
            assert (await log_in(api, email, "Wrong-password-1")).status_code == 401
        assert (await log_in(api, "aLiCe@example.COM", STRONG_PASSWORD)).status_code == 429


class CountingHasher(BcryptPasswordHasher):
    """The real bcrypt hasher, counting the password checks it runs."""

    def __init__(self) -> None:
        super().__init__(rounds=4)
        self.verified = 0

    async def verify(self, password: str, hashed: str) -> bool:
        self.verified += 1
        return await super().verify(password, hashed)


async def test_an_account_over_its_failures_is_refused_before_bcrypt_runs(
    pg_dsn: str, redis_url: str, redis_namespace: str
) -> None:
    settings = hermetic_settings(
        fastwrap_storage="postgres",
        database_url=pg_dsn,
        redis_url=redis_url,
        redis_key_prefix=redis_namespace,
        rate_limit_enabled=True,
        rate_limit_login_failures="2/15 minutes",
    )
    hasher = CountingHasher()
    container = make_container(settings)
    container.hasher.override(providers.Object(hasher))
    async with app_client(settings, container) as api:
        alice = await sign_up(api, "alice@example.com")
        for _ in range(2):
            assert (await log_in(api, alice.email, "Wrong-password-1")).status_code == 401
        checked = hasher.verified

        assert (await log_in(api, alice.email, STRONG_PASSWORD)).status_code == 429
        assert hasher.verified == checked


async def test_ipv6_callers_share_the_budget_of_their_64(limited_api: Api) -> None:
    async with limited_api(rate_limit_auth="2/minute") as api:

        async def attempt(ip: str) -> int:
            return (await log_in(api, "x@example.com", "Wrong-password-1", ip)).status_code

        assert await attempt("2001:db8:1:2::1") == 401
        assert await attempt("2001:db8:1:2:ffff:ffff:ffff:fffe") == 401
        assert await attempt("2001:db8:1:2:abcd::42") == 429  # the same /64, a third address
        assert await attempt("2001:db8:1:3::1") == 401  # the next /64 has its own
        assert await attempt("192.0.2.1") == 401
        assert await attempt("192.0.2.2") == 401  # IPv4: each address its own


async def round_trips_of_a_turn(
    proxy: TcpProxy, url: str, namespace: str, pg_dsn: str, *, limited: bool
) -> tuple[int, int]:
    """Redis round trips of one GET /api/characters and of one chat turn, once warm."""
    settings = hermetic_settings(
        fastwrap_storage="postgres",
        database_url=pg_dsn,
        redis_url=url,
        redis_key_prefix=namespace,
        rate_limit_enabled=limited,
    )
    async with app_client(settings) as api:
        alice = await sign_up(api, f"alice-{limited}@example.com")
        cid = await make_character(api, alice)
        assert (await chat(api, alice, cid)).status_code == 201  # every script is loaded now

        before = proxy.round_trips
        listed = await api.get("/api/characters", headers=alice.headers)
        assert listed.status_code == 200
        assert ("ratelimit-limit" in listed.headers) is limited
        listing = proxy.round_trips - before

        before = proxy.round_trips
        assert (await chat(api, alice, cid)).status_code == 201
        return listing, proxy.round_trips - before


async def test_a_request_costs_the_limiter_one_redis_round_trip(
    redis_proxy: tuple[TcpProxy, str], redis_namespace: str, pg_dsn: str
) -> None:
    proxy, url = redis_proxy
    free = await round_trips_of_a_turn(proxy, url, redis_namespace, pg_dsn, limited=False)
    limited = await round_trips_of_a_turn(proxy, url, redis_namespace, pg_dsn, limited=True)

    # The IP's and the client's budgets at once: one round trip on top of what the route costs.
    assert limited == (free[0] + 1, free[1] + 1)
    assert free[0] == 0


async def test_an_end_user_token_has_a_budget_of_its_own(limited_api: Api) -> None:
    from tests.support.keys import issue_token

    async with limited_api(rate_limit_end_user="2/minute") as api:
        alice = await sign_up(api, "alice@example.com")
        cid = await make_character(api, alice)
        first = await issue_token(api, alice.headers, cid, "u-1")
        second = await issue_token(api, alice.headers, cid, "u-2")

        async def say(token: str) -> int:
            body = {"character_id": cid, "content": "hi"}
            response = await api.post("/api/chat", json=body, headers={"x-api-key": token})
            return response.status_code

        assert [await say(first) for _ in range(3)] == [201, 201, 429]
        assert await say(second) == 201  # another end user's token: its own budget
        assert (await chat(api, alice, cid)).status_code == 201  # the tenant's is not spent


async def test_named_keys_share_their_clients_budget(limited_api: Api) -> None:
    from tests.support.keys import create_key

    async with limited_api(rate_limit_chat="3/minute") as api:
        alice = await sign_up(api, "alice@example.com")
        cid = await make_character(api, alice)
        named = Tenant(alice.id, alice.email, await create_key(api, alice.headers, ["chat"]))

        statuses = [(await chat(api, alice, cid)).status_code]
        statuses += [(await chat(api, named, cid)).status_code for _ in range(3)]

        assert statuses == [201, 201, 201, 429]
        assert (await chat(api, alice, cid)).status_code == 429
