"""Clients built on the Responses API, unchanged but for the base URL: LangChain's `ChatOpenAI`
with `use_responses_api=True` (invoke and astream) and the OpenAI Agents SDK (one agent turn)."""

from __future__ import annotations

import httpx
from agents import Agent, OpenAIResponsesModel, RunConfig, Runner
from langchain_core.messages import AIMessageChunk, HumanMessage, SystemMessage
from langchain_openai import ChatOpenAI

from tests.openai.conftest import sdk_for
from tests.support.app import Tenant
from tests.support.openai_stub import OpenAIStub


def chat_openai(server: str, tenant: Tenant, model: str) -> ChatOpenAI:
    return ChatOpenAI(
        base_url=f"{server}/v1",
        api_key=tenant.key,  # type: ignore[arg-type]
        model=model,
        use_responses_api=True,
        max_retries=0,
    )


def sent(stub: OpenAIStub) -> list[tuple[str, str]]:
    body = stub.requests_to("/v1/chat/completions")[-1].body
    return [(m["role"], m["content"]) for m in body["messages"]]


async def test_langchain_invokes_a_character_over_responses(
    server: str, alice: Tenant, pirate: str, openai_stub: OpenAIStub
) -> None:
    llm = chat_openai(server, alice, "Pirate")

    answer = await llm.ainvoke([SystemMessage("Answer briefly."), HumanMessage("Ahoy")])

    assert answer.text == "stub reply to: Ahoy"
    assert answer.response_metadata["id"].startswith("resp_")
    assert sent(openai_stub) == [
        ("system", "You are a pirate."),
        ("system", "Answer briefly."),
        ("user", "Ahoy"),
    ]


async def test_langchain_streams_a_character_over_responses(
    server: str, alice: Tenant, pirate: str, openai_stub: OpenAIStub
) -> None:
    openai_stub.set_reply("Arr, the gold is buried")
    llm = chat_openai(server, alice, pirate)

    chunks = [chunk async for chunk in llm.astream("Gold?")]

    assert all(isinstance(c, AIMessageChunk) for c in chunks)
    text = "".join(c.text for c in chunks)
    assert text == "Arr, the gold is buried"
    assert len([c for c in chunks if c.text]) > 1  # it came in pieces


async def test_an_openai_agent_runs_one_turn_as_the_character(
    server: str, http: httpx.AsyncClient, alice: Tenant, pirate: str, openai_stub: OpenAIStub
) -> None:
    async with sdk_for(server, alice.key) as client:
        agent = Agent(
            name="Deckhand",
            instructions="Speak like a deckhand.",
            model=OpenAIResponsesModel(model=pirate, openai_client=client),
        )
        run_config = RunConfig(tracing_disabled=True)  # no traces sent to OpenAI
        result = await Runner.run(agent, "Where is the ship?", run_config=run_config)

    assert result.final_output == "stub reply to: Where is the ship?"
    assert sent(openai_stub) == [
        ("system", "You are a pirate."),
        ("system", "Speak like a deckhand."),
        ("user", "Where is the ship?"),
    ]
    response_id = result.last_response_id
    assert response_id is not None
    async with sdk_for(server, alice.key) as client:
        stored = await client.responses.retrieve(response_id)
    assert stored.output_text == result.final_output
