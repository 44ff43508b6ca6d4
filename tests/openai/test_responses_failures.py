"""A model that fails or stalls under `/v1/responses`: OpenAI's statuses when nothing was sent
yet, `response.failed` once the stream has begun, and nothing stored either way."""

from __future__ import annotations

import asyncio

import openai
import pytest
from openai import AsyncOpenAI

from tests.support.openai_stub import OpenAIStub


async def items(sdk: AsyncOpenAI, conversation_id: str) -> list[str]:
    found = [item async for item in sdk.conversations.items.list(conversation_id, order="asc")]
    return [item.content[0].text for item in found]  # type: ignore[union-attr]


async def conversation_of(sdk: AsyncOpenAI, pirate: str) -> tuple[str, str]:
    first = await sdk.responses.create(model=pirate, input="Ahoy")
    assert first.conversation is not None
    return first.id, first.conversation.id


async def test_a_failing_model_is_a_502_and_stores_nothing(
    sdk: AsyncOpenAI, pirate: str, openai_stub: OpenAIStub
) -> None:
    first, conversation = await conversation_of(sdk, pirate)
    openai_stub.set_failure(500)

    with pytest.raises(openai.InternalServerError) as raised:
        await sdk.responses.create(model=pirate, input="More", previous_response_id=first)

    assert raised.value.status_code == 502
    assert raised.value.code == "upstream_error"  # type: ignore[attr-defined]
    openai_stub.set_failure(None)
    assert await items(sdk, conversation) == ["Ahoy", "stub reply to: Ahoy"]


async def test_a_stream_whose_model_fails_ends_failed_and_stores_nothing(
    sdk: AsyncOpenAI, pirate: str, openai_stub: OpenAIStub
) -> None:
    first, conversation = await conversation_of(sdk, pirate)
    openai_stub.set_failure(500)

    async with sdk.responses.stream(
        model=pirate, input="More", previous_response_id=first
    ) as stream:
        seen = [event async for event in stream]
        with pytest.raises(RuntimeError, match=r"response\.completed"):
            await stream.get_final_response()

    assert seen[0].type == "response.created"
    failed = seen[-1]
    assert failed.type == "response.failed"
    assert failed.response.status == "failed"
    assert failed.response.error is not None
    assert failed.response.error.code == "server_error"
    assert failed.response.error.message.startswith("upstream_error: ")
    assert failed.response.id == seen[0].response.id  # type: ignore[union-attr]
    openai_stub.set_failure(None)
    assert await items(sdk, conversation) == ["Ahoy", "stub reply to: Ahoy"]
    with pytest.raises(openai.NotFoundError):
        await sdk.responses.retrieve(failed.response.id)


async def test_a_model_that_stalls_mid_stream_times_out_and_stores_nothing(
    sdk: AsyncOpenAI, pirate: str, openai_stub: OpenAIStub
) -> None:
    first, conversation = await conversation_of(sdk, pirate)
    openai_stub.set_reply("one two three")
    gate = openai_stub.hold_stream()  # the first word, then nothing: the 2 s chunk timeout

    try:
        stream = await sdk.responses.create(
            model=pirate, input="More", previous_response_id=first, stream=True
        )
        seen = [event async for event in stream]
    finally:
        gate.set()

    types = [e.type for e in seen]
    assert "response.output_text.delta" in types
    assert types[-1] == "response.failed"
    assert seen[-1].response.error.message.startswith("upstream_timeout: ")  # type: ignore[union-attr]
    assert await items(sdk, conversation) == ["Ahoy", "stub reply to: Ahoy"]


async def test_a_client_that_leaves_mid_stream_stores_nothing(
    sdk: AsyncOpenAI, pirate: str, openai_stub: OpenAIStub
) -> None:
    first, conversation = await conversation_of(sdk, pirate)
    openai_stub.set_reply("one two three")
    gate = openai_stub.hold_stream()

    stream = await sdk.responses.create(
        model=pirate, input="More", previous_response_id=first, stream=True
    )
    async for event in stream:
        if event.type == "response.output_text.delta":
            break
    await stream.close()
    # The client has gone: the upstream call is abandoned rather than finished.
    assert await asyncio.to_thread(openai_stub.stream_abandoned.wait, 5)
    gate.set()

    assert not openai_stub.stream_finished.is_set()
    assert await items(sdk, conversation) == ["Ahoy", "stub reply to: Ahoy"]
    again = await sdk.responses.create(model=pirate, input="Again", previous_response_id=first)
    assert again.conversation is not None
    assert again.conversation.id == conversation  # the lock was given back, nothing appended
