"""What ChatService refuses, and that a turn that does not complete stores nothing."""

from __future__ import annotations

from dataclasses import replace
from uuid import uuid4

import pytest

from fastwrap.domain.chat import MAX_CONTENT, TurnResult
from fastwrap.domain.errors import (
    Conflict,
    DomainError,
    Invalid,
    NotFound,
    UpstreamFailed,
    UpstreamTimeout,
)
from fastwrap.domain.model import Character, Conversation
from tests.support.chat import Chat, ask, build_chat

MODEL_ERRORS = [UpstreamFailed("the model is overloaded"), UpstreamTimeout("no reply in 30s")]


@pytest.fixture
async def chat() -> Chat:
    return await build_chat()


async def one_turn(chat: Chat, character: Character | None = None) -> Conversation:
    """A conversation "c1" holding one turn, with `character` (by default a new one)."""
    await chat.service.turn(chat.tenant, ask(character or await chat.character(), "Ahoy"))
    stored = await chat.stored()
    assert stored is not None
    return stored


async def test_another_characters_conversation_is_a_conflict_and_stays_as_it_was(
    chat: Chat,
) -> None:
    before = await one_turn(chat)
    other = await chat.character()

    with pytest.raises(Conflict, match="another character"):
        await chat.service.turn(chat.tenant, ask(other))
    with pytest.raises(Conflict, match="another character"):
        await chat.service.stream_turn(chat.tenant, ask(other))  # before the first delta

    assert await chat.stored() == before
    assert len(chat.model.prompts) == 1  # the model was never asked


@pytest.mark.parametrize("error", MODEL_ERRORS, ids=type)
async def test_a_model_that_fails_stores_nothing(chat: Chat, error: DomainError) -> None:
    pirate = await chat.character()
    before = await one_turn(chat, pirate)
    chat.model.fail(error)

    with pytest.raises(type(error), match=error.detail):
        await chat.service.turn(chat.tenant, ask(pirate, cid="new"))
    with pytest.raises(type(error)):
        await chat.service.turn(chat.tenant, ask(pirate, cid="c1"))
    assert await chat.stored("new") is None
    assert await chat.stored() == before

    chat.model.fail(None)  # the conversation was given back: the next turn is had at once
    await chat.service.turn(chat.tenant, ask(pirate, cid="new"))


@pytest.mark.parametrize("error", MODEL_ERRORS, ids=type)
@pytest.mark.parametrize("after", [0, 1], ids=["before-any-word", "mid-reply"])
async def test_a_stream_that_fails_stores_nothing(
    chat: Chat, error: DomainError, after: int
) -> None:
    pirate = await chat.character()
    chat.model.fail(error, after=after)
    stream = await chat.service.stream_turn(chat.tenant, ask(pirate))

    items: list[object] = []

    async def drain() -> None:
        async for item in stream:
            items.append(item)

    with pytest.raises(type(error)):
        await drain()

    assert len(items) == after  # the words before the failure, and no TurnResult
    assert not any(isinstance(item, TurnResult) for item in items)
    assert await chat.stored() is None


async def test_a_stream_closed_early_stores_nothing_and_gives_the_conversation_back(
    chat: Chat,
) -> None:
    pirate = await chat.character()
    stream = await chat.service.stream_turn(chat.tenant, ask(pirate, "Ahoy"))

    assert (await anext(stream)).content == "Arr,"  # type: ignore[union-attr]
    await stream.aclose()  # the client went away

    assert await chat.stored() is None
    await chat.service.turn(chat.tenant, ask(pirate, "Again"))  # not Busy: the lock is free
    stored = await chat.stored()
    assert stored is not None
    assert [m.content for m in stored.messages] == ["Again", "Arr, matey"]


async def test_an_unknown_character_or_a_bad_request_is_refused_before_the_model(
    chat: Chat,
) -> None:
    pirate = await chat.character()
    refusals = [
        (NotFound, ask(replace(pirate, id=uuid4()))),
        (Invalid, ask(pirate, "")),
        (Invalid, ask(pirate, "x" * (MAX_CONTENT + 1))),
        (Invalid, ask(pirate, cid="not/valid")),
    ]
    for error, request in refusals:
        with pytest.raises(error):
            await chat.service.turn(chat.tenant, request)
        with pytest.raises(error):
            await chat.service.stream_turn(chat.tenant, request)
    assert chat.model.prompts == []


async def test_a_character_of_another_tenant_is_not_found(chat: Chat) -> None:
    theirs = await build_chat()
    their_pirate = await theirs.character()
    with pytest.raises(NotFound):
        await chat.service.turn(chat.tenant, ask(their_pirate))


async def test_reading_or_forgetting_an_unknown_conversation_is_not_found(chat: Chat) -> None:
    with pytest.raises(NotFound):
        await chat.service.conversation(chat.tenant, "nope")
    with pytest.raises(NotFound):
        await chat.service.forget(chat.tenant, "nope")
    with pytest.raises(Invalid):
        await chat.service.forget(chat.tenant, "not/valid")


async def test_a_forgotten_conversation_is_gone_and_can_start_again(chat: Chat) -> None:
    await one_turn(chat)

    await chat.service.forget(chat.tenant, "c1")

    assert await chat.stored() is None
    with pytest.raises(NotFound):
        await chat.service.forget(chat.tenant, "c1")
    other = await chat.character()  # the id is free again, for any character
    await chat.service.turn(chat.tenant, ask(other))
    stored = await chat.stored()
    assert stored is not None
    assert stored.character_id == other.id


async def test_a_conversation_is_the_tenants_own(chat: Chat) -> None:
    await one_turn(chat)
    with pytest.raises(NotFound):
        await chat.service.conversation(uuid4(), "c1")
    with pytest.raises(NotFound):
        await chat.service.forget(uuid4(), "c1")
    assert await chat.stored() is not None
