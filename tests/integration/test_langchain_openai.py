"""The real langchain-openai adapter against the OpenAI-compatible stub, over real HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import openai
import pytest
from langchain_core.callbacks import AsyncCallbackHandler

from fastwrap.adapters.langchain.chat_model import LangChainChatModel
from fastwrap.adapters.langchain.embeddings import OpenAIEmbedder
from fastwrap.adapters.langchain.openai_chat import MessagesInBodyChatOpenAI, plain_completion
from fastwrap.adapters.langchain.providers import build_chat_model
from fastwrap.domain.chat import build_prompt
from fastwrap.domain.errors import UpstreamFailed, UpstreamTimeout
from fastwrap.domain.model import (
    Character,
    Message,
    ModelOptions,
    PromptMessage,
    SearchHit,
    Snippet,
    Usage,
)
from tests.support.openai_stub import OpenAIStub

pytestmark = pytest.mark.integration

KEY = "sk-proj-integration-secret-0123456789abcdef"
NOW = datetime(2025, 1, 1, tzinfo=UTC)
QUESTION = [
    PromptMessage(role="system", content="You are Ada."),
    PromptMessage(role="user", content="Tell me about primes please"),
]

type ModelFactory = Callable[..., LangChainChatModel]


@pytest.fixture
async def make_model(openai_stub: OpenAIStub) -> AsyncIterator[ModelFactory]:
    built: list[LangChainChatModel] = []

    def make(*, timeout: float = 10, max_retries: int = 0, **options: object) -> LangChainChatModel:
        settings: dict[str, object] = {
            "model": "gpt-4o-mini", "provider": None, "api_key": KEY,
            "base_url": openai_stub.base_url, "temperature": None,
        } | options  # fmt: skip
        model, _ = build_chat_model(timeout=timeout, max_retries=max_retries, **settings)  # type: ignore[arg-type]
        assert isinstance(model, LangChainChatModel)
        built.append(model)
        return model

    yield make
    for model in built:
        await model.aclose()


def _character() -> Character:
    return Character(
        id=uuid4(), client_id=uuid4(), name="Ada", agent_role="You are Ada, a maths tutor.",
        created_at=NOW, updated_at=NOW,
    )  # fmt: skip


def _hit(content: str) -> SearchHit:
    snippet = Snippet(
        id=uuid4(), client_id=uuid4(), entity_type="faq", entity_id="primes", content=content,
        metadata={}, model="m", created_at=NOW, updated_at=NOW,
    )  # fmt: skip
    return SearchHit(snippet=snippet, score=0.9, distance=0.1)


async def test_the_model_receives_prompt_knowledge_history_then_the_new_message(
    openai_stub: OpenAIStub, make_model: ModelFactory
) -> None:
    history = [
        Message(role="user", content="Hi", created_at=NOW),
        Message(role="assistant", content="Hello!", created_at=NOW),
    ]
    prompt = build_prompt(_character(), [_hit("2 is the only even prime")], history, "And 91?")
    openai_stub.set_usage(120, 7)

    reply = await make_model().reply(prompt)

    [sent] = openai_stub.requests_to("/v1/chat/completions")
    messages = [(m["role"], m["content"]) for m in sent.body["messages"]]
    assert messages[0] == ("system", "You are Ada, a maths tutor.")
    assert messages[1][0] == "system"
    assert "2 is the only even prime" in messages[1][1]
    assert messages[2:] == [("user", "Hi"), ("assistant", "Hello!"), ("user", "And 91?")]
    assert sent.body["model"] == "gpt-4o-mini"
    assert sent.authorization == f"Bearer {KEY}"
    assert reply.content == "stub reply to: And 91?"
    assert reply.usage == Usage(input_tokens=120, output_tokens=7)


def _openai_chat(stub: OpenAIStub, **options: Any) -> LangChainChatModel:
    """As build_chat_model makes it, with `options` for the LangChain model (the lanes:
    tests/integration/test_openai_lanes.py)."""
    http = openai.DefaultAsyncHttpxClient()  # this loop's own pool, closed by aclose()
    options = {"model": "gpt-4o-mini"} | options
    chat = MessagesInBodyChatOpenAI(
        base_url=stub.base_url, api_key=KEY, max_retries=0, http_async_client=http, **options
    )
    return LangChainChatModel(chat, timeout=10, close=http.aclose, complete=plain_completion(chat))


class _Seen(AsyncCallbackHandler):
    def __init__(self) -> None:
        self.events: list[str] = []

    async def on_chat_model_start(self, *args: Any, **kwargs: Any) -> None:
        self.events.append("start")

    async def on_llm_end(self, *args: Any, **kwargs: Any) -> None:
        self.events.append("end")


async def test_a_model_with_callbacks_still_reports_its_runs(openai_stub: OpenAIStub) -> None:
    seen = _Seen()
    model = _openai_chat(openai_stub, callbacks=[seen])

    reply = await model.reply(QUESTION)
    await model.aclose()

    assert reply.content == "stub reply to: Tell me about primes please"
    assert seen.events == ["start", "end"]


async def test_settings_reach_the_provider(
    openai_stub: OpenAIStub, make_model: ModelFactory
) -> None:
    await make_model(model="llama3:8b", temperature=0.2).reply(QUESTION)

    [sent] = openai_stub.requests_to("/v1/chat/completions")
    assert sent.body["model"] == "llama3:8b"  # a base URL keeps Ollama-style names whole
    assert sent.body["temperature"] == 0.2


async def test_a_stream_arrives_while_the_provider_is_still_writing(
    openai_stub: OpenAIStub, make_model: ModelFactory
) -> None:
    openai_stub.set_reply("one two three four")
    openai_stub.set_usage(9, 4)
    gate = openai_stub.hold_stream()
    stream = make_model().stream(QUESTION)

    first = await anext(aiter(stream))
    still_writing = not openai_stub.stream_finished.is_set()
    gate.set()
    rest = [delta async for delta in stream]

    assert still_writing
    assert first.content == "one"
    assert first.content + "".join(d.content for d in rest) == "one two three four"
    assert rest[-1].usage == Usage(input_tokens=9, output_tokens=4)
    [sent] = openai_stub.requests_to("/v1/chat/completions")
    assert sent.body["stream"] is True
    assert sent.body["stream_options"] == {"include_usage": True}


async def test_a_consumer_that_leaves_mid_stream_cancels_the_upstream_call(
    openai_stub: OpenAIStub, make_model: ModelFactory
) -> None:
    gate = openai_stub.hold_stream()
    stream = make_model().stream(QUESTION)
    assert isinstance(stream, AsyncGenerator)

    await anext(stream)
    await stream.aclose()

    # The stub is still holding the rest of the reply: only a closed connection ends it.
    assert await asyncio.to_thread(openai_stub.stream_abandoned.wait, 5)
    gate.set()
    assert not openai_stub.stream_finished.is_set()


async def test_a_provider_error_is_upstream_failed_with_its_message(
    openai_stub: OpenAIStub, make_model: ModelFactory
) -> None:
    openai_stub.set_failure(500, "the model is overloaded")

    with pytest.raises(UpstreamFailed, match="the model is overloaded") as caught:
        await make_model().reply(QUESTION)

    assert "500" in caught.value.detail


async def test_retries_are_bounded_by_max_retries(
    openai_stub: OpenAIStub, make_model: ModelFactory
) -> None:
    openai_stub.set_failure(503)

    with pytest.raises(UpstreamFailed):
        await make_model(max_retries=2).reply(QUESTION)

    assert len(openai_stub.requests_to("/v1/chat/completions")) == 3


async def test_a_stream_that_fails_raises_upstream_failed(
    openai_stub: OpenAIStub, make_model: ModelFactory
) -> None:
    openai_stub.set_failure(502, "bad gateway upstream")

    with pytest.raises(UpstreamFailed, match="bad gateway upstream"):
        [delta async for delta in make_model().stream(QUESTION)]


@pytest.mark.parametrize("lane", ["plain", "langchain", "stream"])
async def test_a_calls_temperature_and_output_cap_reach_the_provider(
    openai_stub: OpenAIStub, make_model: ModelFactory, lane: str
) -> None:
    if lane == "langchain":  # a callback closes the plain lane: the reply takes LangChain's run
        model = _openai_chat(openai_stub, temperature=0.9, callbacks=[AsyncCallbackHandler()])
    else:
        model = make_model(temperature=0.9)
    tuned = ModelOptions(temperature=0.25, max_output_tokens=42)

    if lane == "stream":
        [delta async for delta in model.stream(QUESTION, tuned)]
        [delta async for delta in model.stream(QUESTION)]
    else:
        await model.reply(QUESTION, tuned)
        await model.reply(QUESTION)

    if lane == "langchain":
        await model.aclose()
    first, second = (r.body for r in openai_stub.requests_to("/v1/chat/completions"))
    assert (first["temperature"], first["max_completion_tokens"]) == (0.25, 42)
    assert second["temperature"] == 0.9  # the model's own setting when a call leaves it open
    assert "max_completion_tokens" not in second


async def test_a_slow_provider_is_an_upstream_timeout(
    openai_stub: OpenAIStub, make_model: ModelFactory
) -> None:
    openai_stub.set_delay(30)

    with pytest.raises(UpstreamTimeout, match=r"within 0\.2s"):
        await make_model(timeout=0.2).reply(QUESTION)


async def test_a_stream_that_stalls_is_an_upstream_timeout(
    openai_stub: OpenAIStub, make_model: ModelFactory
) -> None:
    openai_stub.hold_stream()  # never released: the stream stalls after its first chunk

    # the timeout bounds every chunk, the first included: generous enough for a loaded
    # machine to deliver the first one, so that only the stall can trip it
    stream = make_model(timeout=2.0).stream(QUESTION)

    first = await anext(aiter(stream))
    with pytest.raises(UpstreamTimeout):
        await anext(aiter(stream))

    assert first.content == "stub"


async def test_a_refused_key_never_appears_in_the_error(
    openai_stub: OpenAIStub, make_model: ModelFactory
) -> None:
    openai_stub.set_failure(401)

    with pytest.raises(UpstreamFailed) as caught:
        await make_model().reply(QUESTION)

    assert "401" in caught.value.detail
    assert "Incorrect API key" in caught.value.detail
    assert KEY not in caught.value.detail
    assert KEY not in str(caught.value)
    assert KEY[:20] not in caught.value.detail


async def test_embedding_failures_are_upstream_errors_without_the_key(
    openai_stub: OpenAIStub,
) -> None:
    embedder = OpenAIEmbedder(
        model="text-embedding-3-small", dimensions=16, api_key=KEY, base_url=openai_stub.base_url,
        batch_size=10, timeout=2.0, max_retries=0,
    )  # fmt: skip
    try:
        openai_stub.set_failure(401)
        with pytest.raises(UpstreamFailed) as refused:
            await embedder.embed(["hello"])
        openai_stub.set_failure(None)
        openai_stub.set_embedding_size(8)
        with pytest.raises(UpstreamFailed, match="EMBEDDING_DIM"):
            await embedder.embed(["hello"])
        openai_stub.set_delay(30)
        with pytest.raises(UpstreamTimeout):
            await embedder.embed(["hello"])
    finally:
        await embedder.aclose()

    assert KEY not in refused.value.detail
