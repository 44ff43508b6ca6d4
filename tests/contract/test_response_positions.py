"""Responses as a domain use case, over both conversation stores: chaining, forking,
store=false, instructions, input items, streams — the one turn of ChatService underneath
(SPEC §12)."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from fastwrap.domain.chat import TurnRequest
from fastwrap.domain.errors import Conflict, Invalid, NotFound, UpstreamFailed
from fastwrap.domain.model import ChatDelta, PromptMessage
from fastwrap.domain.responses import (
    Response,
    ResponseRef,
    ResponseRequest,
)
from tests.support.redis import ConversationCase
from tests.support.responses import Desk, build_desk


@pytest.fixture
async def desk(conversation_store: ConversationCase) -> Desk:
    return await build_desk(conversation_store)


async def test_a_response_starts_a_conversation_and_the_next_continues_it(desk: Desk) -> None:
    first = await desk.create("Ahoy")
    second = await desk.create("And the map?", previous_response_id=first.id)

    assert first.conversation_id is not None
    assert second.conversation_id == first.conversation_id
    assert (second.previous_response_id, second.text, second.status) == (
        first.id,
        "Arr, matey",
        "completed",
    )
    assert desk.last_prompt() == [
        ("system", "You are a pirate."),
        ("user", "Ahoy"),
        ("assistant", "Arr, matey"),
        ("user", "And the map?"),
    ]
    assert await desk.contents(first.conversation_id) == [
        (1, "user", "Ahoy"),
        (2, "assistant", "Arr, matey"),
        (3, "user", "And the map?"),
        (4, "assistant", "Arr, matey"),
    ]
    found = await desk.responses.get(desk.tenant, second.id)
    assert replace(found, expires_at=None) == replace(second, expires_at=None)


async def test_continuing_an_earlier_response_forks_and_leaves_the_original(desk: Desk) -> None:
    first = await desk.create("Ahoy")
    await desk.create("And the map?", previous_response_id=first.id)
    original = await desk.contents(first.conversation_id)

    fork = await desk.create("Where is the ship?", previous_response_id=first.id)

    assert fork.conversation_id not in (None, first.conversation_id)
    assert desk.last_prompt() == [
        ("system", "You are a pirate."),
        ("user", "Ahoy"),
        ("assistant", "Arr, matey"),
        ("user", "Where is the ship?"),
    ]
    assert await desk.contents(first.conversation_id) == original
    assert await desk.contents(fork.conversation_id) == [
        (1, "user", "Ahoy"),
        (2, "assistant", "Arr, matey"),
        (3, "user", "Where is the ship?"),
        (4, "assistant", "Arr, matey"),
    ]
    after_fork = await desk.create("Sail on", previous_response_id=fork.id)
    assert after_fork.conversation_id == fork.conversation_id  # the fork's latest: appended


async def test_two_turns_from_the_same_latest_response_append_once_and_fork_once(
    desk: Desk,
) -> None:
    first = await desk.create("Ahoy")

    one, two = await asyncio.gather(
        desk.create("one", previous_response_id=first.id),
        desk.create("two", previous_response_id=first.id),
    )

    assert sorted(
        [one.conversation_id == first.conversation_id, two.conversation_id == first.conversation_id]
    ) == [False, True]
    assert len(await desk.contents(first.conversation_id)) == 4


async def test_instructions_are_for_that_response_only(desk: Desk) -> None:
    first = await desk.create("Ahoy", instructions="Answer in French.")
    assert desk.last_prompt()[:2] == [
        ("system", "You are a pirate."),
        ("system", "Answer in French."),
    ]
    await desk.create("Again", previous_response_id=first.id)

    assert ("system", "Answer in French.") not in desk.last_prompt()
    assert (await desk.responses.get(desk.tenant, first.id)).instructions == "Answer in French."
    assert all(role != "system" for _, role, _ in await desk.contents(first.conversation_id))


async def test_system_messages_in_the_input_are_instructions_and_not_stored(desk: Desk) -> None:
    request = ResponseRequest(
        character_id=desk.pirate.id,
        model="Pirate",
        input=(
            PromptMessage(role="system", content="Be brief."),
            PromptMessage(role="user", content="Hi"),
        ),
    )
    response = await desk.responses.create(desk.tenant, request)

    assert desk.last_prompt() == [
        ("system", "You are a pirate."),
        ("system", "Be brief."),
        ("user", "Hi"),
    ]
    assert await desk.contents(response.conversation_id) == [
        (1, "user", "Hi"),
        (2, "assistant", "Arr, matey"),
    ]


async def test_unstored_responses_store_nothing_and_cannot_be_continued(desk: Desk) -> None:
    first = await desk.create("Ahoy")
    before = await desk.contents(first.conversation_id)

    loose = await desk.create("Ahoy", store=False)
    reading = await desk.create("And?", previous_response_id=first.id, store=False)

    assert loose.conversation_id is None
    assert ResponseRef.decode(loose.id).conversation_id is None
    assert reading.conversation_id == first.conversation_id
    assert ("user", "Ahoy") in desk.last_prompt()  # it read the history
    assert await desk.contents(first.conversation_id) == before
    with pytest.raises(Invalid, match="store: false"):
        await desk.create("More", previous_response_id=loose.id)
    with pytest.raises(NotFound):
        await desk.responses.get(desk.tenant, loose.id)


async def test_refusals(desk: Desk) -> None:
    first = await desk.create("Ahoy")
    assert first.conversation_id is not None
    with pytest.raises(Invalid, match="not both"):
        await desk.create("x", previous_response_id=first.id, conversation_id=first.conversation_id)
    with pytest.raises(NotFound):
        await desk.create("x", previous_response_id="resp_nonsense")
    ends_with_a_reply = (
        PromptMessage(role="user", content="q"),
        PromptMessage(role="assistant", content="a"),
    )
    with pytest.raises(Invalid, match="end with a user message"):
        await desk.responses.create(desk.tenant, replace(desk.ask("q"), input=ends_with_a_reply))
    with pytest.raises(Conflict):
        await desk.create("x", previous_response_id=first.id, character=desk.parrot)
    with pytest.raises(Invalid, match="metadata"):
        await desk.create("x", metadata={"k": 1})
    assert len(await desk.contents(first.conversation_id)) == 2


async def test_input_items_and_deleting_a_response(desk: Desk) -> None:
    first = await desk.create("Ahoy")
    second = await desk.create("Q1", "A1", "Q2", previous_response_id=first.id)
    third = await desk.create("Last", previous_response_id=second.id)

    conversation_id, inputs = await desk.responses.input_items(desk.tenant, second.id)
    assert conversation_id == first.conversation_id
    assert [(m.role, m.content) for m in inputs] == [
        ("user", "Q1"),
        ("assistant", "A1"),
        ("user", "Q2"),
    ]

    await desk.responses.delete(desk.tenant, second.id)

    with pytest.raises(NotFound):
        await desk.responses.get(desk.tenant, second.id)
    with pytest.raises(NotFound):
        await desk.responses.delete(desk.tenant, second.id)
    assert [c for _, _, c in await desk.contents(first.conversation_id)] == [
        "Ahoy",
        "Arr, matey",
        "Last",
        "Arr, matey",
    ]
    assert (await desk.responses.get(desk.tenant, third.id)).text == "Arr, matey"


async def test_after_the_latest_response_is_deleted_the_one_before_is_continued_in_place(
    desk: Desk,
) -> None:
    first = await desk.create("Ahoy")
    second = await desk.create("Map?", previous_response_id=first.id)
    await desk.responses.delete(desk.tenant, second.id)

    third = await desk.create("Ship?", previous_response_id=first.id)

    assert third.conversation_id == first.conversation_id
    assert await desk.contents(first.conversation_id) == [
        (1, "user", "Ahoy"),
        (2, "assistant", "Arr, matey"),
        (5, "user", "Ship?"),
        (6, "assistant", "Arr, matey"),
    ]  # numbers are never reused
    with pytest.raises(NotFound):
        await desk.create("x", previous_response_id=second.id)


async def test_a_response_dies_with_its_conversation_even_if_the_id_is_used_again(
    desk: Desk,
) -> None:
    first = await desk.create("Ahoy", conversation_id="c1")
    await desk.chat.forget(desk.tenant, "c1")
    await desk.chat.turn(
        desk.tenant, TurnRequest(character_id=desk.pirate.id, content="New", conversation_id="c1")
    )

    with pytest.raises(NotFound):
        await desk.responses.get(desk.tenant, first.id)  # message 2 exists again, but not it
    with pytest.raises(NotFound):
        await desk.create("x", previous_response_id=first.id)


async def test_a_chat_conversation_continues_as_responses_and_back(desk: Desk) -> None:
    await desk.chat.turn(
        desk.tenant,
        TurnRequest(character_id=desk.pirate.id, content="Ahoy", conversation_id="shared"),
    )
    response = await desk.create("Via responses", conversation_id="shared")
    await desk.chat.turn(
        desk.tenant,
        TurnRequest(character_id=desk.pirate.id, content="Via chat", conversation_id="shared"),
    )

    assert response.conversation_id == "shared"
    assert [c for _, r, c in await desk.contents("shared") if r == "user"] == [
        "Ahoy",
        "Via responses",
        "Via chat",
    ]
    assert ("user", "Via responses") in desk.last_prompt()


async def test_a_stream_names_its_response_first_and_stores_it_last(desk: Desk) -> None:
    first = await desk.create("Ahoy")
    events = [
        e
        async for e in await desk.responses.stream(
            desk.tenant, desk.ask("More", previous_response_id=first.id)
        )
    ]

    started, *deltas, done = events
    assert isinstance(started, Response)
    assert isinstance(done, Response)
    assert (started.status, done.status, started.id, started.item_id) == (
        "in_progress",
        "completed",
        done.id,
        done.item_id,
    )
    assert (
        "".join(d.content for d in deltas if isinstance(d, ChatDelta)) == done.text == "Arr, matey"
    )
    assert (await desk.responses.get(desk.tenant, done.id)).text == "Arr, matey"


async def test_a_stream_that_fails_stores_nothing(desk: Desk) -> None:
    first = await desk.create("Ahoy")
    desk.model.fail(UpstreamFailed("boom"), after=1)

    stream = await desk.responses.stream(
        desk.tenant, desk.ask("More", previous_response_id=first.id)
    )
    with pytest.raises(UpstreamFailed):
        async for _ in stream:
            pass

    assert len(await desk.contents(first.conversation_id)) == 2
