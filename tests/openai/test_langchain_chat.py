"""LangChain's `ChatOpenAI`, pointed at FastWrap, talks to a character (Chat Completions)."""

from __future__ import annotations

import httpx
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from langchain_openai import ChatOpenAI
from pydantic import SecretStr

from tests.support.app import Tenant
from tests.support.openai_stub import OpenAIStub


def chat_model(server: str, tenant: Tenant, model: str, **options: object) -> ChatOpenAI:
    return ChatOpenAI(
        base_url=f"{server}/v1",
        api_key=SecretStr(tenant.key),
        model=model,
        max_retries=0,
        **options,  # type: ignore[arg-type]
    )


async def test_invoke_with_the_characters_name(
    server: str, alice: Tenant, pirate: str, openai_stub: OpenAIStub
) -> None:
    llm = chat_model(server, alice, "Pirate", temperature=0.1)

    reply = await llm.ainvoke(
        [SystemMessage("Be brief."), HumanMessage("hi"), AIMessage("ahoy"), HumanMessage("gold?")]
    )

    assert reply.content == "stub reply to: gold?"
    assert reply.usage_metadata is not None
    assert reply.usage_metadata["total_tokens"] > 0
    sent = openai_stub.requests_to("/v1/chat/completions")[-1].body["messages"]
    assert [m["content"] for m in sent] == ["You are a pirate.", "Be brief.", "hi", "ahoy", "gold?"]


async def test_astream_yields_the_reply_in_pieces(server: str, alice: Tenant, pirate: str) -> None:
    llm = chat_model(server, alice, pirate, stream_usage=True)

    chunks = [chunk async for chunk in llm.astream("Where is the gold?")]

    assert len(chunks) > 2
    assert "".join(str(c.content) for c in chunks) == "stub reply to: Where is the gold?"
    usage = [c.usage_metadata for c in chunks if c.usage_metadata]
    assert usage


async def test_a_stateful_conversation_through_extra_body(
    server: str, http: httpx.AsyncClient, alice: Tenant, pirate: str
) -> None:
    llm = chat_model(server, alice, pirate, extra_body={"conversation": "lc-1"})

    await llm.ainvoke("My name is Ann.")
    chunks = [chunk async for chunk in llm.astream("What is my name?")]

    assert "".join(str(c.content) for c in chunks) == "stub reply to: What is my name?"
    stored = await http.get("/api/conversations/lc-1", headers=alice.headers)
    assert [m["content"] for m in stored.json()["data"]["messages"]] == [
        "My name is Ann.",
        "stub reply to: My name is Ann.",
        "What is my name?",
        "stub reply to: What is my name?",
    ]
