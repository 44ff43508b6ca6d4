"""Streamed `/v1/chat/completions`: OpenAI's chunk sequence, read by OpenAI's SDK and raw."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import openai
import pytest
from openai import AsyncOpenAI

from tests.support.app import Tenant
from tests.support.openai_stub import OpenAIStub

ASK = [{"role": "user", "content": "Where is the gold?"}]


async def raw_lines(
    http: httpx.AsyncClient, tenant: Tenant, body: dict[str, Any]
) -> tuple[httpx.Response, list[str]]:
    headers = {"Authorization": f"Bearer {tenant.key}"}
    async with http.stream("POST", "/v1/chat/completions", json=body, headers=headers) as response:
        lines = [line async for line in response.aiter_lines() if line]
    return response, lines


async def test_the_sdk_assembles_a_stream_with_usage(
    sdk: AsyncOpenAI, pirate: str, openai_stub: OpenAIStub
) -> None:
    openai_stub.set_usage(30, 4)
    stream = await sdk.chat.completions.create(
        model=pirate, messages=ASK, stream=True, stream_options={"include_usage": True}
    )
    chunks = [chunk async for chunk in stream]

    assert {c.object for c in chunks} == {"chat.completion.chunk"}
    assert len({c.id for c in chunks}) == 1
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "stub reply to: Where is the gold?"
    finish = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert finish[-1] == "stop"
    assert set(finish[:-1]) == {None}
    usage_chunk = chunks[-1]
    assert usage_chunk.choices == []
    assert usage_chunk.usage is not None
    assert (usage_chunk.usage.prompt_tokens, usage_chunk.usage.completion_tokens) == (30, 4)


async def test_raw_lines_are_data_lines_ending_with_done(
    http: httpx.AsyncClient, alice: Tenant, pirate: str
) -> None:
    body = {"model": pirate, "messages": ASK, "stream": True, "conversation": "streamed"}
    response, lines = await raw_lines(http, alice, body)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert all(line.startswith("data: ") for line in lines)
    assert lines[-1] == "data: [DONE]"
    payloads = [json.loads(line.removeprefix("data: ")) for line in lines[:-1]]
    assert "usage" not in payloads[-1]  # not asked for
    assert payloads[-1]["fastwrap"]["conversation_id"] == "streamed"
    stored = await http.get("/api/conversations/streamed", headers=alice.headers)
    assert [m["content"] for m in stored.json()["data"]["messages"]] == [
        "Where is the gold?",
        "stub reply to: Where is the gold?",
    ]


async def test_a_stateful_stream_continues_the_stored_history(
    sdk: AsyncOpenAI, pirate: str, openai_stub: OpenAIStub
) -> None:
    for text in ("first", "second"):
        stream = await sdk.chat.completions.create(
            model=pirate,
            messages=[{"role": "user", "content": text}],
            stream=True,
            extra_body={"conversation": "s1"},
        )
        async for _ in stream:
            pass
    sent = openai_stub.requests_to("/v1/chat/completions")[-1].body["messages"]
    assert [m["content"] for m in sent[1:]] == ["first", "stub reply to: first", "second"]


async def test_a_failure_mid_stream_is_one_error_line_and_nothing_is_stored(
    http: httpx.AsyncClient, alice: Tenant, pirate: str, openai_stub: OpenAIStub
) -> None:
    openai_stub.set_failure(500, "the model fell over")
    body = {"model": pirate, "messages": ASK, "stream": True, "conversation": "broken"}
    response, lines = await raw_lines(http, alice, body)

    assert response.status_code == 200  # the stream had begun
    error = json.loads(lines[-1].removeprefix("data: "))["error"]
    assert (error["type"], error["code"]) == ("server_error", "upstream_error")
    assert "data: [DONE]" not in lines
    assert sum("error" in json.loads(line[6:]) for line in lines) == 1
    stored = await http.get("/api/conversations/broken", headers=alice.headers)
    assert stored.status_code == 404


async def test_the_sdk_raises_on_the_error_line(
    sdk: AsyncOpenAI, pirate: str, openai_stub: OpenAIStub
) -> None:
    openai_stub.set_failure(500)
    stream = await sdk.chat.completions.create(model=pirate, messages=ASK, stream=True)
    with pytest.raises(openai.APIError, match=r"upstream|model|500|error"):
        async for _ in stream:
            pass


async def test_a_client_that_leaves_mid_stream_stores_nothing(
    http: httpx.AsyncClient, alice: Tenant, pirate: str, openai_stub: OpenAIStub
) -> None:
    gate = openai_stub.hold_stream()
    body = {"model": pirate, "messages": ASK, "stream": True, "conversation": "left"}
    async with http.stream("POST", "/v1/chat/completions", json=body, headers=alice.headers) as r:
        lines = r.aiter_lines()
        while "stub" not in await anext(lines):  # the first delta: the model is mid-reply
            pass
    assert await asyncio.to_thread(openai_stub.stream_abandoned.wait, 5)
    gate.set()
    assert (await http.get("/api/conversations/left", headers=alice.headers)).status_code == 404
