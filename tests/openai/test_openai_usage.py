"""Budgets and the usage ledger (SPEC §13) on `/v1`: the same turns, so the same ledger rows
and the same 429 `BudgetExceeded`, in OpenAI's shape (`budget_exceeded`)."""

from __future__ import annotations

from typing import Any

import httpx
import openai
import pytest

from tests.openai.conftest import sdk_for
from tests.openai.test_openai_scopes import named_key
from tests.support.app import Tenant

ASK: Any = [{"role": "user", "content": "hi"}]


async def test_an_end_users_spent_budget_is_a_429_budget_exceeded_on_every_v1_turn(
    server: str, http: httpx.AsyncClient, alice: Tenant, pirate: str
) -> None:
    settings = await http.patch(
        "/clients/me/settings", json={"end_user_daily_tokens": 1}, headers=alice.headers
    )
    assert settings.status_code == 200, settings.text
    async with sdk_for(server, alice.key) as client:
        await client.chat.completions.create(model=pirate, messages=ASK, user="eve")

        with pytest.raises(openai.RateLimitError) as stateless:
            await client.chat.completions.create(model=pirate, messages=ASK, user="eve")
        with pytest.raises(openai.RateLimitError) as responses:
            await client.responses.create(model=pirate, input="hi", user="eve")
        with pytest.raises(openai.RateLimitError) as streamed:
            await client.chat.completions.create(
                model=pirate, messages=ASK, user="eve", stream=True
            )
        # Another end user, and the tenant itself, have budget left.
        await client.responses.create(model=pirate, input="hi", user="bob")
        await client.chat.completions.create(model=pirate, messages=ASK)

    for refused in (stateless.value, responses.value, streamed.value):
        assert refused.code == "budget_exceeded"
        assert "end_user_daily_tokens" in refused.message
        assert int(refused.response.headers["retry-after"]) > 0


async def test_v1_turns_are_in_the_ledger_under_the_key_that_made_them(
    server: str, http: httpx.AsyncClient, alice: Tenant, pirate: str
) -> None:
    key = await named_key(http, alice, "chat")
    async with sdk_for(server, key) as client:
        await client.chat.completions.create(model=pirate, messages=ASK)
        await client.responses.create(model=pirate, input="hello there")
        stream = await client.chat.completions.create(
            model=pirate, messages=ASK, stream=True, stream_options={"include_usage": True}
        )
        chunks = [chunk async for chunk in stream]
    streamed_usage = chunks[-1].usage
    assert streamed_usage is not None

    keys = await http.get("/clients/me/keys", headers=alice.headers)
    key_id = next(k["id"] for k in keys.json()["data"]["items"] if k["name"] == "chat")
    report = await http.get("/api/usage", params={"group_by": "key"}, headers=alice.headers)
    assert report.status_code == 200, report.text
    [row] = [r for r in report.json()["data"]["items"] if r["key_id"] == key_id]
    assert (row["requests"], row["failed"], row["estimated"]) == (3, 0, False)
    assert row["output_tokens"] >= streamed_usage.completion_tokens > 0
