"""Refusals of `/v1/chat/completions` in OpenAI's shape: the SDK's error classes, 400 naming the
field (never 422), 409 on a conversation, 502/504 from the model, nothing stored."""

from __future__ import annotations

from typing import Any

import httpx
import openai
import pytest
from openai import AsyncOpenAI

from tests.support.app import Tenant, make_character
from tests.support.openai_stub import OpenAIStub

ASK: Any = [{"role": "user", "content": "hi"}]


@pytest.fixture
def app_overrides() -> dict[str, Any]:
    return {"conversation_lock_wait_seconds": 0.3}


async def post(http: httpx.AsyncClient, tenant: Tenant, body: dict[str, Any]) -> httpx.Response:
    return await http.post("/v1/chat/completions", json=body, headers=tenant.headers)


@pytest.mark.parametrize(
    ("change", "param"),
    [
        ({"messages": []}, "messages"),
        ({"messages": [{"role": "tool", "content": "x", "tool_call_id": "1"}]}, "messages[0].role"),
        (
            {
                "messages": [
                    {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}
                ]
            },
            "messages[0].content",
        ),
        ({"n": 2}, "n"),
        ({"tools": [{"type": "function", "function": {"name": "f"}}]}, "tools"),
        ({"temperature": 3}, "temperature"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"user": "not a valid end user!"}, "user"),
        ({"conversation": "spaces are not allowed"}, "conversation"),
        ({"conversation": "a", "conversation_id": "b"}, "conversation"),
        ({"conversation": "c1", "messages": [{"role": "assistant", "content": "x"}]}, "messages"),
        ({"stream": "yes"}, "stream"),
        ({"model": None}, "model"),
    ],
)
async def test_invalid_input_is_400_naming_the_field(
    http: httpx.AsyncClient, alice: Tenant, pirate: str, change: dict[str, Any], param: str
) -> None:
    response = await post(http, alice, {"model": pirate, "messages": ASK, **change})

    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert (error["type"], error["param"]) == ("invalid_request_error", param)
    assert (await http.get("/api/conversations/c1", headers=alice.headers)).status_code == 404


async def test_a_missing_model_and_unknown_fields(
    http: httpx.AsyncClient, alice: Tenant, pirate: str
) -> None:
    missing = await post(http, alice, {"messages": ASK})
    assert (missing.status_code, missing.json()["error"]["param"]) == (400, "model")
    ignored = {"seed": 1, "logprobs": True, "top_p": 0.5, "frequency_penalty": 0, "store": True}
    ignored |= {"metadata": {"a": "b"}, "parallel_tool_calls": False, "tools": [], "n": 1}
    accepted = await post(http, alice, {"model": pirate, "messages": ASK, **ignored})
    assert accepted.status_code == 200, accepted.text


async def test_the_sdk_raises_bad_request_for_tools(sdk: AsyncOpenAI, pirate: str) -> None:
    with pytest.raises(openai.BadRequestError) as raised:
        await sdk.chat.completions.create(
            model=pirate,
            messages=ASK,
            tools=[{"type": "function", "function": {"name": "f", "parameters": {}}}],
        )
    assert raised.value.param == "tools"


async def test_continuing_another_characters_conversation_is_a_conflict(
    sdk: AsyncOpenAI, http: httpx.AsyncClient, alice: Tenant, pirate: str
) -> None:
    parrot = await make_character(http, alice, "You are a parrot.")
    await sdk.chat.completions.create(model=pirate, messages=ASK, extra_body={"conversation": "c"})

    with pytest.raises(openai.ConflictError) as raised:
        await sdk.chat.completions.create(
            model=parrot, messages=ASK, extra_body={"conversation": "c"}
        )

    assert raised.value.code == "conversation_character_mismatch"
    stored = await http.get("/api/conversations/c", headers=alice.headers)
    assert len(stored.json()["data"]["messages"]) == 2


async def test_a_conversation_in_use_is_busy(
    sdk: AsyncOpenAI, http: httpx.AsyncClient, alice: Tenant, pirate: str, openai_stub: OpenAIStub
) -> None:
    gate = openai_stub.hold_stream()
    body = {"model": pirate, "messages": ASK, "stream": True, "conversation": "held"}
    async with http.stream(
        "POST", "/v1/chat/completions", json=body, headers=alice.headers
    ) as first:
        lines = first.aiter_lines()
        while "stub" not in await anext(lines):  # the model has begun: the lock is held
            pass
        with pytest.raises(openai.ConflictError) as raised:
            await sdk.chat.completions.create(
                model=pirate,
                messages=ASK,
                extra_body={"conversation": "held"},
            )
        gate.set()
        rest = [line async for line in lines if line]
    assert raised.value.code == "conversation_busy"
    assert rest[-1] == "data: [DONE]"


async def test_a_failing_model_is_502_and_stores_nothing(
    sdk: AsyncOpenAI, http: httpx.AsyncClient, alice: Tenant, pirate: str, openai_stub: OpenAIStub
) -> None:
    openai_stub.set_failure(500, "boom")
    with pytest.raises(openai.InternalServerError) as raised:
        await sdk.chat.completions.create(
            model=pirate, messages=ASK, extra_body={"conversation": "f"}
        )
    assert raised.value.status_code == 502
    assert raised.value.code == "upstream_error"
    assert raised.value.type == "server_error"
    assert (await http.get("/api/conversations/f", headers=alice.headers)).status_code == 404


async def test_a_slow_model_is_504_and_stores_nothing(
    sdk: AsyncOpenAI, http: httpx.AsyncClient, alice: Tenant, pirate: str, openai_stub: OpenAIStub
) -> None:
    openai_stub.set_delay(30)  # past the app's 2 s model timeout
    with pytest.raises(openai.InternalServerError) as raised:
        await sdk.chat.completions.create(
            model=pirate, messages=ASK, extra_body={"conversation": "s"}
        )
    assert raised.value.status_code == 504
    assert raised.value.code == "upstream_timeout"
    openai_stub.reset()
    assert (await http.get("/api/conversations/s", headers=alice.headers)).status_code == 404
