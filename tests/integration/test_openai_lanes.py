"""The two lanes of an OpenAI model's reply send the same request and read the same reply.

build_chat_model picks the lane once: LangChain's run (`ainvoke`) when traced, else the plain
lane (openai_chat.PlainCompletion) when it applies. Each test builds the model both ways and
talks to the real HTTP stub. When an installed langchain-openai sends or reads otherwise than
the plain lane does, these fail: mend openai_chat.py before moving its pin (see PRIVATE_API).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from langchain_core.caches import InMemoryCache
from langchain_core.globals import set_llm_cache
from langchain_core.tracers.context import collect_runs

from fastwrap.adapters.langchain.chat_model import LangChainChatModel
from fastwrap.adapters.langchain.providers import build_chat_model
from fastwrap.domain.errors import DomainError
from fastwrap.domain.model import ChatReply, PromptMessage, Usage
from tests.support.openai_stub import OpenAIStub

pytestmark = pytest.mark.integration

KEY = "sk-lanes-test-key-0123456789"
CONVERSATION = [
    PromptMessage(role="system", content="You are Ada."),
    PromptMessage(role="system", content="Knowledge: 2 is the only even prime."),
    PromptMessage(role="user", content="Hi"),
    PromptMessage(role="assistant", content=""),
    PromptMessage(role="user", content='Is 91 prime? Ünïcödé, "quotes" and\nnew lines.'),
]
CHAT = "/v1/chat/completions"

type Lanes = Callable[..., tuple[LangChainChatModel, LangChainChatModel]]


@pytest.fixture
async def lanes(openai_stub: OpenAIStub) -> AsyncIterator[Lanes]:
    """(untraced, traced) models, as build_chat_model makes them for the same settings."""
    built: list[LangChainChatModel] = []

    def make(**options: Any) -> tuple[LangChainChatModel, LangChainChatModel]:
        settings: dict[str, Any] = {
            "model": "gpt-4o-mini", "provider": None, "api_key": KEY,
            "base_url": openai_stub.base_url, "timeout": 10, "max_retries": 0,
            "temperature": None,
        } | options  # fmt: skip
        for traced in (False, True):
            model, _ = build_chat_model(traced=traced, **settings)
            assert isinstance(model, LangChainChatModel)
            built.append(model)
        return built[-2], built[-1]

    yield make
    for model in built:
        await model.aclose()


async def _reply(model: LangChainChatModel) -> tuple[ChatReply, list[str]]:
    """The reply, and the kinds of the LangChain runs it recorded."""
    with collect_runs() as runs:
        reply = await model.reply(CONVERSATION)
    return reply, [run.run_type for run in runs.traced_runs]


@pytest.mark.parametrize(
    ("settings", "plain"),
    [
        ({}, True),
        ({"model": "gpt-4.1-nano", "temperature": 0.3}, True),
        ({"model": "gpt-5-mini"}, True),
        ({"model": "chatgpt-4o-latest"}, True),
        ({"model": "llama3:8b", "temperature": 0.2}, True),  # a local OpenAI-compatible server
        ({"model": "o3-mini"}, False),  # LangChain sends its system prompts as `developer`
        ({"model": "o1"}, False),
    ],
    ids=lambda value: str(value.get("model", "default")) if isinstance(value, dict) else "",
)
async def test_both_lanes_send_the_same_request_and_read_the_same_reply(
    openai_stub: OpenAIStub, lanes: Lanes, settings: dict[str, Any], plain: bool
) -> None:
    openai_stub.set_usage(120, 7)
    untraced, traced = lanes(**settings)

    fast, fast_runs = await _reply(untraced)
    slow, slow_runs = await _reply(traced)

    first, second = openai_stub.requests_to(CHAT)
    assert first.body == second.body
    assert fast == slow
    assert fast.usage == Usage(input_tokens=120, output_tokens=7)
    assert slow_runs == ["llm"]
    assert fast_runs == ([] if plain else ["llm"])  # the plain lane has no LangChain run


async def test_the_request_is_the_one_this_langchain_openai_sends(
    openai_stub: OpenAIStub, lanes: Lanes
) -> None:
    """Exactly the body the pinned langchain-openai sends: a change shows here first."""
    untraced, traced = lanes(temperature=0.5)

    await untraced.reply(CONVERSATION)
    await traced.reply(CONVERSATION)

    expected = {
        "model": "gpt-4o-mini",
        "stream": False,
        "temperature": 0.5,
        "messages": [{"content": m.content, "role": m.role} for m in CONVERSATION],
    }
    for request in openai_stub.requests_to(CHAT):
        assert request.body == expected, "langchain-openai changed its request: see openai_chat.py"
        assert request.authorization == f"Bearer {KEY}"


TOOL_CALL = {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}


def _completion(message: dict[str, Any], **extra: Any) -> dict[str, Any]:
    choice = {"index": 0, "message": {"role": "assistant", **message}, "finish_reason": "stop"}
    return {
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-4o-mini",
        "choices": [choice], **extra,
    }  # fmt: skip


USAGE = {"prompt_tokens": 11, "completion_tokens": 5, "total_tokens": 16}


REPLIES = {
    "text": _completion({"content": "Arr"}, usage=USAGE),
    "no-usage": _completion({"content": "Arr"}),
    "zero-output-tokens": _completion(
        {"content": "Arr"}, usage={"prompt_tokens": 3, "completion_tokens": 0}
    ),
    "null-prompt-tokens": _completion(
        {"content": "Arr"}, usage={"prompt_tokens": None, "completion_tokens": 2}
    ),
    "refusal": _completion({"content": None, "refusal": "I cannot help with that."}, usage=USAGE),
    "tool-call": _completion({"content": "", "tool_calls": [TOOL_CALL]}, usage=USAGE),
    "null-content": _completion({"content": None}),
    "extra-fields": _completion({"content": "Arr", "x": 1}, usage=USAGE, system_fingerprint="fp"),
}


@pytest.mark.parametrize("body", REPLIES.values(), ids=REPLIES.keys())
async def test_both_lanes_read_any_reply_alike(
    openai_stub: OpenAIStub, lanes: Lanes, body: dict[str, Any]
) -> None:
    openai_stub.set_raw_reply(body)
    untraced, traced = lanes()

    fast, fast_runs = await _reply(untraced)
    slow, _ = await _reply(traced)

    assert fast_runs == []
    assert fast == slow


@pytest.mark.parametrize(
    "body",
    [
        {"error": {"message": "model overloaded"}, "choices": None},
        {"id": "chatcmpl-1", "object": "chat.completion", "choices": None},
        {"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "m"},
        _completion({"content": "Arr"}, usage=USAGE, error={"message": "partly failed"}),
    ],
    ids=["error-in-200", "null-choices", "no-choices", "error-next-to-a-reply"],
)
async def test_both_lanes_fail_alike_on_a_broken_reply(
    openai_stub: OpenAIStub, lanes: Lanes, body: dict[str, Any]
) -> None:
    openai_stub.set_raw_reply(body)
    untraced, traced = lanes()

    with pytest.raises(DomainError) as fast:
        await untraced.reply(CONVERSATION)
    with pytest.raises(DomainError) as slow:
        await traced.reply(CONVERSATION)

    assert type(fast.value) is type(slow.value)
    assert str(fast.value) == str(slow.value)


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (400, "This model's maximum context length is 8 tokens (context_length_exceeded)"),
        (401, None),
        (404, "The model `gpt-4o-mini` does not exist"),
        (429, "Rate limit reached"),
        (500, "upstream exploded"),
    ],
)
async def test_both_lanes_map_provider_errors_alike(
    openai_stub: OpenAIStub, lanes: Lanes, status: int, message: str | None
) -> None:
    openai_stub.set_failure(status, message)
    untraced, traced = lanes()

    with pytest.raises(DomainError) as fast:
        await untraced.reply(CONVERSATION)
    with pytest.raises(DomainError) as slow:
        await traced.reply(CONVERSATION)

    assert type(fast.value) is type(slow.value)
    assert str(fast.value) == str(slow.value)
    assert f"({status})" in str(fast.value)
    assert KEY not in str(fast.value)


async def test_a_cache_set_before_the_model_is_built_answers_its_replies(
    openai_stub: OpenAIStub, lanes: Lanes
) -> None:
    """LangChain's global cache needs LangChain's run: the plain lane stays closed."""
    set_llm_cache(InMemoryCache())
    try:
        untraced, _ = lanes()
        first = await untraced.reply(CONVERSATION)
        again = await untraced.reply(CONVERSATION)
    finally:
        set_llm_cache(None)

    assert first == again
    assert len(openai_stub.requests_to(CHAT)) == 1
