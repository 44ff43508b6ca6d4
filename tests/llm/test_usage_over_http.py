"""The usage ledger, budgets and per-character models over the real LangChain/OpenAI clients
against the stub (SPEC §13): what the stub reports is what the ledger holds."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.support.app import (
    Tenant,
    app_client,
    bootstrap_admin,
    hermetic_settings,
    live_client,
    make_character,
    sign_up,
)
from tests.support.openai_stub import OpenAIStub
from tests.support.services import integration

KEY = "sk-test-secret-key-123"
MODELS = "gpt-4o-mini,gpt-4o"


@pytest.fixture(params=["memory", integration("postgres")])
async def api(
    request: pytest.FixtureRequest, openai_stub: OpenAIStub
) -> AsyncIterator[httpx.AsyncClient]:
    storage: dict[str, Any] = {}
    if request.param == "postgres":
        storage = {
            "fastwrap_storage": "postgres",
            "database_url": request.getfixturevalue("pg_dsn"),
        }
    settings = hermetic_settings(
        model="gpt-4o-mini",
        model_key=KEY,
        model_base_url=openai_stub.base_url,
        # No test here waits for a timeout: 20 concurrent turns on a slow machine can take
        # over a second, and a 504 there would be the machine, not the budget under test.
        model_timeout_seconds=30.0,
        model_max_retries=0,
        models=MODELS,
        **storage,
    )
    async with app_client(settings) as client:
        yield client


@pytest.fixture
async def alice(api: httpx.AsyncClient) -> Tenant:
    return await sign_up(api, "alice@example.com")


async def chat(api: httpx.AsyncClient, tenant: Tenant, cid: str, **extra: Any) -> httpx.Response:
    body = {"character_id": cid, "content": "hello there", **extra}
    return await api.post("/api/chat", json=body, headers=tenant.headers)


async def usage(api: httpx.AsyncClient, tenant: Tenant, group_by: str) -> list[dict[str, Any]]:
    response = await api.get("/api/usage", params={"group_by": group_by}, headers=tenant.headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["data"]["items"]
    return items


async def test_usage_is_what_the_provider_reported(
    api: httpx.AsyncClient, alice: Tenant, openai_stub: OpenAIStub
) -> None:
    cid = await make_character(api, alice)
    openai_stub.set_usage(120, 7)
    assert (await chat(api, alice, cid, end_user="eve")).status_code == 201
    openai_stub.set_usage(30, 4)
    assert (await chat(api, alice, cid, end_user="eve", stream=True)).status_code == 201

    [row] = await usage(api, alice, "end_user")

    assert row == {
        "end_user": "eve", "requests": 2, "failed": 0, "input_tokens": 150,
        "output_tokens": 11, "estimated": False,
    }  # fmt: skip
    [by_character] = await usage(api, alice, "character")
    assert by_character["character_id"] == cid


async def test_counts_the_provider_left_out_are_estimated_and_flagged(
    api: httpx.AsyncClient, alice: Tenant, openai_stub: OpenAIStub
) -> None:
    cid = await make_character(api, alice)
    openai_stub.set_raw_reply(
        {
            "id": "chatcmpl-x", "object": "chat.completion", "created": 1, "model": "m",
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": "twelve chars"}}],
        }
    )  # fmt: skip
    assert (await chat(api, alice, cid)).status_code == 201

    [row] = await usage(api, alice, "day")

    assert row["estimated"] is True
    assert row["output_tokens"] == 3  # "twelve chars": 12 characters, about 4 per token
    assert row["input_tokens"] > 0


async def test_failed_calls_are_counted_apart(
    api: httpx.AsyncClient, alice: Tenant, openai_stub: OpenAIStub
) -> None:
    cid = await make_character(api, alice)
    assert (await chat(api, alice, cid)).status_code == 201
    openai_stub.set_failure(500, "broken")
    assert (await chat(api, alice, cid)).status_code == 502

    async def both_recorded() -> list[dict[str, Any]]:
        # A failed call's record is written without holding up its 502.
        while (rows := await usage(api, alice, "model"))[0]["requests"] < 2:
            await asyncio.sleep(0.01)
        return rows

    [row] = await asyncio.wait_for(both_recorded(), timeout=5)
    assert (row["requests"], row["failed"]) == (2, 1)


async def test_a_character_on_its_own_model_and_temperature(
    api: httpx.AsyncClient, alice: Tenant, openai_stub: OpenAIStub
) -> None:
    cid = await make_character(api, alice, model="gpt-4o", temperature=0.25, max_output_tokens=64)
    plain = await make_character(api, alice)
    assert (await chat(api, alice, cid)).status_code == 201
    assert (await chat(api, alice, plain, stream=True)).status_code == 201
    assert (await chat(api, alice, cid, stream=True)).status_code == 201

    sent = [r.body for r in openai_stub.requests_to("/v1/chat/completions")]
    assert [b["model"] for b in sent] == ["gpt-4o", "gpt-4o-mini", "gpt-4o"]
    assert [b.get("temperature") for b in sent] == [0.25, None, 0.25]
    caps = [b.get("max_completion_tokens", b.get("max_tokens")) for b in sent]
    assert caps == [64, None, 64]
    rows = await usage(api, alice, "model")
    assert {r["model"]: r["requests"] for r in rows} == {
        "openai:gpt-4o": 2,
        "openai:gpt-4o-mini": 1,
    }


async def test_a_model_outside_the_allow_list_is_refused(
    api: httpx.AsyncClient, alice: Tenant, openai_stub: OpenAIStub
) -> None:
    response = await api.post(
        "/api/characters",
        json={"agent_role": "x", "model": "gpt-5-huge"},
        headers=alice.headers,
    )
    assert response.status_code == 422
    assert "gpt-4o-mini, gpt-4o" in response.json()["detail"]
    cid = await make_character(api, alice)
    patch = await api.patch(
        f"/api/characters/{cid}", json={"model": "claude-opus"}, headers=alice.headers
    )
    assert patch.status_code == 422
    assert (await api.get(f"/api/characters/{cid}", headers=alice.headers)).json()["data"][
        "model"
    ] is None
    assert openai_stub.requests_to("/v1/chat/completions") == []


async def test_over_a_client_budget_is_429_naming_it(
    api: httpx.AsyncClient, alice: Tenant, openai_stub: OpenAIStub
) -> None:
    admin = await bootstrap_admin(api)
    cid = await make_character(api, alice)
    patched = await api.patch(
        f"/admin/clients/{alice.id}",
        json={"token_budget_daily": 100, "token_budget_monthly": 10_000},
        headers=admin.headers,
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["data"]["token_budget_daily"] == 100
    openai_stub.set_usage(90, 20)
    assert (await chat(api, alice, cid)).status_code == 201  # 110 of 100: it started under

    refused = await chat(api, alice, cid)
    streamed = await chat(api, alice, cid, stream=True)

    for response in (refused, streamed):
        assert response.status_code == 429
        assert response.json()["error"] == "BudgetExceeded"
        assert "token_budget_daily" in response.json()["detail"]
        assert 0 < int(response.headers["Retry-After"]) <= 86_400
    assert len(openai_stub.requests_to("/v1/chat/completions")) == 1  # never asked again
    cleared = await api.patch(
        f"/admin/clients/{alice.id}", json={"token_budget_daily": None}, headers=admin.headers
    )
    assert cleared.json()["data"]["token_budget_daily"] is None
    assert (await chat(api, alice, cid)).status_code == 201


async def test_an_end_user_budget_of_a_character(
    api: httpx.AsyncClient, alice: Tenant, openai_stub: OpenAIStub
) -> None:
    cid = await make_character(api, alice, end_user_daily_tokens=50)
    openai_stub.set_usage(40, 20)
    assert (await chat(api, alice, cid, end_user="eve")).status_code == 201

    refused = await chat(api, alice, cid, end_user="eve")
    assert refused.status_code == 429
    assert "end_user_daily_tokens" in refused.json()["detail"]
    assert (await chat(api, alice, cid, end_user="bob")).status_code == 201
    assert (await chat(api, alice, cid)).status_code == 201  # no end user: no such budget


async def test_twenty_turns_at_the_edge_overshoot_by_at_most_those_in_flight(
    api: httpx.AsyncClient, alice: Tenant, openai_stub: OpenAIStub
) -> None:
    admin = await bootstrap_admin(api)
    cid = await make_character(api, alice)
    await api.patch(
        f"/admin/clients/{alice.id}", json={"token_budget_daily": 1000}, headers=admin.headers
    )
    openai_stub.set_usage(990, 9)
    assert (await chat(api, alice, cid)).status_code == 201  # 999 of 1000: one token left
    openai_stub.set_usage(10, 5)

    burst = await asyncio.gather(*(chat(api, alice, cid) for _ in range(20)))

    statuses = [r.status_code for r in burst]
    assert set(statuses) <= {201, 429}
    admitted = statuses.count(201)
    [row] = await usage(api, alice, "day")
    spent = row["input_tokens"] + row["output_tokens"]
    # Every admitted turn started with tokens left; the overshoot is theirs, no more.
    assert spent == 999 + 15 * admitted
    assert spent - 1000 <= 15 * 20
    print(f"\n20 turns at the edge: {admitted} admitted, overshoot {spent - 1000} tokens")
    assert (await chat(api, alice, cid)).status_code == 429


async def test_reports_take_a_range_and_pages(
    api: httpx.AsyncClient, alice: Tenant, openai_stub: OpenAIStub
) -> None:
    cid = await make_character(api, alice)
    for n in range(3):
        assert (await chat(api, alice, cid, end_user=f"user-{n}")).status_code == 201
    first = await api.get(
        "/api/usage", params={"group_by": "end_user", "limit": 2}, headers=alice.headers
    )
    page = first.json()["data"]
    assert [r["end_user"] for r in page["items"]] == ["user-0", "user-1"]
    second = await api.get(
        "/api/usage",
        params={"group_by": "end_user", "limit": 2, "cursor": page["next_cursor"]},
        headers=alice.headers,
    )
    assert [r["end_user"] for r in second.json()["data"]["items"]] == ["user-2"]
    assert second.json()["data"]["next_cursor"] is None
    empty = await api.get(
        "/api/usage",
        params={"from": "2020-01-01T00:00:00Z", "to": "2020-01-02T00:00:00Z"},
        headers=alice.headers,
    )
    assert empty.json()["data"]["items"] == []
    for bad in (
        {"group_by": "planet"},
        {"from": "2020-01-02T00:00:00Z", "to": "2020-01-01T00:00:00Z"},
    ):
        assert (await api.get("/api/usage", params=bad, headers=alice.headers)).status_code == 422


async def test_admins_see_every_client_and_tenants_only_their_own(
    api: httpx.AsyncClient, alice: Tenant, openai_stub: OpenAIStub
) -> None:
    bob = await sign_up(api, "bob@example.com")
    admin = await bootstrap_admin(api)
    for tenant in (alice, bob, bob):
        assert (await chat(api, tenant, await make_character(api, tenant))).status_code == 201

    assert [r["requests"] for r in await usage(api, alice, "day")] == [1]
    everyone = await api.get("/admin/usage", headers=admin.headers)
    assert sum(r["requests"] for r in everyone.json()["data"]["items"]) == 3
    only_bob = await api.get("/admin/usage", params={"client_id": bob.id}, headers=admin.headers)
    assert [r["requests"] for r in only_bob.json()["data"]["items"]] == [2]
    assert (await api.get("/admin/usage", headers=alice.headers)).status_code == 403


async def test_the_streamed_turn_asks_the_provider_for_usage(
    api: httpx.AsyncClient, alice: Tenant, openai_stub: OpenAIStub
) -> None:
    cid = await make_character(api, alice)
    response = await chat(api, alice, cid, stream=True)
    done = json.loads(response.text.split("event: done\ndata: ")[1].split("\n")[0])

    [body] = [r.body for r in openai_stub.requests_to("/v1/chat/completions")]
    assert body["stream_options"] == {"include_usage": True}
    assert done["usage"]["input_tokens"] is not None


async def test_health_shows_every_configured_model(api: httpx.AsyncClient) -> None:
    checks = (await api.get("/health")).json()["checks"]

    assert checks["llm"]["adapter"] == "openai:gpt-4o-mini"
    assert {name: c["adapter"] for name, c in checks.items() if name.startswith("llm:")} == {
        "llm:gpt-4o-mini": "gpt-4o-mini",
        "llm:gpt-4o": "gpt-4o",
    }


async def test_a_stream_the_client_left_is_recorded_as_cancelled(
    openai_stub: OpenAIStub,
) -> None:
    settings = hermetic_settings(
        model="gpt-4o-mini", model_key=KEY, model_base_url=openai_stub.base_url
    )
    async with live_client(settings) as api:
        alice = await sign_up(api, "alice@example.com")
        cid = await make_character(api, alice)
        gate = openai_stub.hold_stream()
        body = {"character_id": cid, "content": "tell me a story", "stream": True}
        async with api.stream("POST", "/api/chat", json=body, headers=alice.headers) as response:
            lines = response.aiter_lines()
            assert await anext(lines) == "event: delta"
        # The client is gone; the provider's stream is cut off, and the call recorded.
        assert await asyncio.to_thread(openai_stub.stream_abandoned.wait, 5)
        gate.set()

        async def recorded() -> dict[str, Any]:
            while not (rows := await usage(api, alice, "day")):
                await asyncio.sleep(0.01)
            return rows[0]

        row = await asyncio.wait_for(recorded(), timeout=5)
    assert (row["requests"], row["failed"], row["estimated"]) == (1, 1, True)
    assert row["input_tokens"] > 0
    assert row["output_tokens"] > 0
