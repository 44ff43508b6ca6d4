"""The OpenAI Agents SDK runs an agent turn on a FastWrap character (Chat Completions)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from agents import Agent, OpenAIChatCompletionsModel, Runner, set_tracing_disabled
from openai import AsyncOpenAI

from tests.support.openai_stub import OpenAIStub


@pytest.fixture(autouse=True)
def no_tracing() -> Iterator[None]:
    set_tracing_disabled(True)  # the SDK would send its traces to OpenAI
    yield
    set_tracing_disabled(False)


async def test_one_agent_turn(sdk: AsyncOpenAI, pirate: str, openai_stub: OpenAIStub) -> None:
    agent = Agent(
        name="Deckhand",
        instructions="Answer as the ship's deckhand.",
        model=OpenAIChatCompletionsModel(model=pirate, openai_client=sdk),
    )

    result = await Runner.run(agent, "Where is the gold?")

    assert result.final_output == "stub reply to: Where is the gold?"
    sent = openai_stub.requests_to("/v1/chat/completions")[-1].body["messages"]
    assert [(m["role"], m["content"]) for m in sent] == [
        ("system", "You are a pirate."),
        ("system", "Answer as the ship's deckhand."),
        ("user", "Where is the gold?"),
    ]


async def test_one_streamed_agent_turn(sdk: AsyncOpenAI, pirate: str) -> None:
    agent = Agent(
        name="Deckhand",
        instructions="Be brief.",
        model=OpenAIChatCompletionsModel(model="Pirate", openai_client=sdk),
    )

    run = Runner.run_streamed(agent, "Where is the gold?")
    kinds = [event.type async for event in run.stream_events()]

    assert "raw_response_event" in kinds
    assert run.final_output == "stub reply to: Where is the gold?"
