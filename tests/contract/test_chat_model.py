"""The ChatModel contract, for the offline model and for LangChain's ChatOpenAI over real HTTP."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator

import pytest

from fastwrap.adapters.langchain.chat_model import LangChainChatModel
from fastwrap.adapters.langchain.offline import OfflineChatModel
from fastwrap.adapters.langchain.providers import build_chat_model
from fastwrap.domain.model import ChatDelta, PromptMessage
from fastwrap.ports.llm import ChatModel
from tests.support.openai_stub import OpenAIStub
from tests.support.services import integration

PROMPT = [
    PromptMessage(role="system", content="You are Ada, a patient maths tutor."),
    PromptMessage(role="user", content="What is a prime?"),
    PromptMessage(role="assistant", content="A number with exactly two divisors."),
    PromptMessage(role="user", content="Is 91 one of them?"),
]


@pytest.fixture(params=["offline", integration("langchain-openai")])
async def chat_model(request: pytest.FixtureRequest) -> AsyncIterator[ChatModel]:
    if request.param == "offline":
        yield OfflineChatModel()
        return
    stub: OpenAIStub = request.getfixturevalue("openai_stub")
    model, label = build_chat_model(
        model="gpt-4o-mini", provider=None, api_key="sk-contract-test-key",
        base_url=stub.base_url, timeout=10, max_retries=0, temperature=None,
    )  # fmt: skip
    assert label == "openai:gpt-4o-mini"
    assert isinstance(model, LangChainChatModel)
    yield model
    await model.aclose()


async def _collect(model: ChatModel) -> list[ChatDelta]:
    return [delta async for delta in model.stream(PROMPT)]


async def test_reply_is_non_empty_and_reports_usage(chat_model: ChatModel) -> None:
    reply = await chat_model.reply(PROMPT)

    assert reply.content.strip()
    assert reply.usage.input_tokens is not None
    assert reply.usage.input_tokens > 0
    assert reply.usage.output_tokens is not None
    assert reply.usage.output_tokens > 0


async def test_stream_comes_in_pieces_that_add_up_to_the_reply(chat_model: ChatModel) -> None:
    reply = await chat_model.reply(PROMPT)

    deltas = await _collect(chat_model)

    assert len([d for d in deltas if d.content]) > 1
    assert "".join(d.content for d in deltas) == reply.content


async def test_stream_reports_usage_once_it_is_known(chat_model: ChatModel) -> None:
    deltas = await _collect(chat_model)

    usages = [d.usage for d in deltas if d.usage is not None]
    assert usages, "no delta carried usage"
    assert usages[-1].output_tokens is not None
    assert usages[-1].output_tokens > 0
    assert all(d.content or d.usage for d in deltas)


async def test_a_consumer_may_stop_reading_early(chat_model: ChatModel) -> None:
    stream = chat_model.stream(PROMPT)
    assert isinstance(stream, AsyncGenerator)
    first = await anext(stream)
    await stream.aclose()

    assert first.content
    assert (await chat_model.reply(PROMPT)).content  # the model is still usable afterwards


async def test_the_offline_reply_is_labelled_and_shows_what_it_was_given() -> None:
    reply = await OfflineChatModel().reply(PROMPT)

    assert reply.content.startswith("[offline]")
    assert "You are Ada" in reply.content
    assert "turn 2" in reply.content
    assert "Is 91 one of them?" in reply.content
