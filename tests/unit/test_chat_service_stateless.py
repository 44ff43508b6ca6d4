"""ChatService's stateless turn (SPEC §12): the same prompt head, knowledge and model call as a
stored turn, the caller's messages as the history, and nothing stored or held."""

from __future__ import annotations

from uuid import uuid4

import pytest

from fastwrap.domain.completions import MAX_CALLER_MESSAGES, CompletionRequest, CompletionResult
from fastwrap.domain.errors import CharacterNotFound, Invalid, UpstreamFailed
from fastwrap.domain.model import (
    Caller,
    ChatDelta,
    Knowledge,
    ModelOptions,
    PromptMessage,
    SnippetInput,
)
from tests.support.chat import Chat, build_chat


@pytest.fixture
async def chat() -> Chat:
    return await build_chat()


def said(*pairs: tuple[str, str]) -> tuple[PromptMessage, ...]:
    return tuple(PromptMessage(role=role, content=text) for role, text in pairs)  # type: ignore[arg-type]


CALLERS = said(("system", "Be brief."), ("user", "hi"), ("assistant", "ahoy"), ("user", "gold?"))


async def test_the_model_gets_prompt_knowledge_then_the_callers_messages(chat: Chat) -> None:
    await chat.vectors.upsert(
        chat.tenant, [SnippetInput(entity_type="faq", entity_id="g", content="gold? on the isle")]
    )
    character = await chat.character(knowledge=Knowledge(entity_types=("faq",), min_score=-1))
    options = ModelOptions(temperature=0.5, max_output_tokens=9)
    request = CompletionRequest(
        character_id=character.id, messages=CALLERS, end_user="u1", options=options
    )

    result = await chat.service.complete(chat.tenant, request)

    assert result.reply.content == "Arr, matey"
    assert [h.snippet.entity_id for h in result.sources] == ["g"]
    [prompt] = chat.model.prompts
    assert prompt[0] == PromptMessage(role="system", content="You are a pirate.")
    assert "gold? on the isle" in prompt[1].content
    assert tuple(prompt[2:]) == CALLERS
    assert chat.model.calls == [
        (options, Caller(client_id=chat.tenant, character_id=character.id, end_user="u1"))
    ]
    assert await chat.stored("c1") is None


async def test_a_streamed_stateless_turn_ends_with_its_result(chat: Chat) -> None:
    character = await chat.character()
    request = CompletionRequest(character_id=character.id, messages=CALLERS)

    events = [e async for e in await chat.service.stream_complete(chat.tenant, request)]

    *deltas, result = events
    assert "".join(d.content for d in deltas if isinstance(d, ChatDelta)) == "Arr, matey"
    assert isinstance(result, CompletionResult)
    assert result.reply.content == "Arr, matey"
    assert result.reply.usage.output_tokens == 2


@pytest.mark.parametrize(
    "messages",
    [
        (),
        said(("system", "no question")),
        said(("user", "")),
        said(("user", "x" * 32_001)),
        said(*[("user", "x")] * (MAX_CALLER_MESSAGES + 1)),
    ],
)
async def test_what_a_stateless_turn_refuses(
    chat: Chat, messages: tuple[PromptMessage, ...]
) -> None:
    character = await chat.character()
    with pytest.raises(Invalid):
        await chat.service.complete(
            chat.tenant, CompletionRequest(character_id=character.id, messages=messages)
        )
    assert chat.model.prompts == []


async def test_an_unknown_character_and_a_failing_model(chat: Chat) -> None:
    with pytest.raises(CharacterNotFound):
        await chat.service.complete(
            chat.tenant, CompletionRequest(character_id=uuid4(), messages=CALLERS)
        )
    character = await chat.character()
    chat.model.fail(UpstreamFailed("down"), after=1)
    request = CompletionRequest(character_id=character.id, messages=CALLERS)
    with pytest.raises(UpstreamFailed):
        await chat.service.complete(chat.tenant, request)
    stream = await chat.service.stream_complete(chat.tenant, request)
    with pytest.raises(UpstreamFailed):
        _ = [e async for e in stream]
