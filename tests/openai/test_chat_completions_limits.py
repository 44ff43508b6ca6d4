"""The chat budget (SPEC §8) on `/v1`: OpenAI's 429 and OpenAI's `x-ratelimit-*` headers."""

from __future__ import annotations

from typing import Any

import httpx
import openai
import pytest
from openai import AsyncOpenAI

from tests.support.app import Tenant

ASK: Any = [{"role": "user", "content": "hi"}]


@pytest.fixture
def app_overrides() -> dict[str, Any]:
    return {"rate_limit_enabled": True, "rate_limit_chat": "2/minute"}


async def test_turns_share_the_chat_budget_and_then_get_a_rate_limit_error(
    sdk: AsyncOpenAI, http: httpx.AsyncClient, alice: Tenant, pirate: str
) -> None:
    raw = await sdk.chat.completions.with_raw_response.create(model=pirate, messages=ASK)
    assert raw.headers["x-ratelimit-limit-requests"] == "2"
    assert raw.headers["x-ratelimit-remaining-requests"] == "1"
    assert raw.headers["x-ratelimit-reset-requests"].endswith("s")
    assert raw.headers["ratelimit-limit"] == "2"
    on_api = await http.post(
        "/api/chat", json={"character_id": pirate, "content": "hi"}, headers=alice.headers
    )
    assert on_api.status_code == 201
    assert "x-ratelimit-limit-requests" not in on_api.headers

    with pytest.raises(openai.RateLimitError) as raised:
        await sdk.chat.completions.create(model=pirate, messages=ASK)

    assert raised.value.code == "rate_limit_exceeded"
    headers = raised.value.response.headers
    assert int(headers["retry-after"]) >= 1
    assert headers["x-ratelimit-remaining-requests"] == "0"
    assert headers["ratelimit-remaining"] == "0"
    # Reads are another budget.
    assert [m.id async for m in await sdk.models.list()] == [pirate]
