"""ChatService's turns over the in-memory adapters: prompt, knowledge, history, what is stored
and when. (tests/unit/test_chat_service_refusals.py: what it refuses, and what it never stores.)"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta
from uuid import uuid4

import pytest

from fastwrap.adapters.langchain.hashing import HashingEmbedder
from fastwrap.domain.chat import HistoryBudget, TurnRequest, TurnResult
from fastwrap.domain.errors import NotFound
from fastwrap.domain.model import (
    Caller,
    ChatDelta,
    Knowledge,
    ModelOptions,
    PromptMessage,
    SnippetInput,
)
from tests.support.chat import DEFAULT_TTL, Chat, ask, build_chat


@pytest.fixture
async def chat() -> Chat:
    return await build_chat()


async def streamed(chat: Chat, *args: object) -> tuple[list[ChatDelta], TurnResult]:
    stream = await chat.service.stream_turn(chat.tenant, *args)  # type: ignore[arg-type]
    items = [item async for item in stream]
    *deltas, result = items
    assert all(isinstance(d, ChatDelta) for d in deltas)
    assert isinstance(result, TurnResult)
    return deltas, result  # type: ignore[return-value]


async def test_a_turn_asks_with_the_characters_prompt_and_stores_both_messages(
    chat: Chat,
) -> None:
    pirate = await chat.character()

    result = await chat.service.turn(chat.tenant, ask(pirate, "Where is the gold?"))

    assert chat.model.prompts == [
        [
            PromptMessage(role="system", content="You are a pirate."),
            PromptMessage(role="user", content="Where is the gold?"),
        ]
    ]
    assert (result.conversation_id, result.character_id) == ("c1", pirate.id)
    assert result.reply.content == "Arr, matey"
    assert result.sources == ()
    stored = await chat.stored()
    assert stored is not None
    assert [(m.role, m.content) for m in stored.messages] == [
        ("user", "Where is the gold?"),
        ("assistant", "Arr, matey"),
    ]
    assert (
        result.expires_at == stored.expires_at == chat.clock.now() + timedelta(seconds=DEFAULT_TTL)
    )


async def test_the_model_is_called_with_the_turns_options_on_behalf_of_its_caller(
    chat: Chat,
) -> None:
    pirate = await chat.character()
    options = ModelOptions(temperature=0.3, max_output_tokens=99)
    key = uuid4()
    turn = TurnRequest(
        character_id=pirate.id, content="Ahoy", end_user="alice", options=options, key_id=key
    )

    await chat.service.turn(chat.tenant, turn)
    await streamed(chat, replace(turn, conversation_id="c2"))

    caller = Caller(client_id=chat.tenant, character_id=pirate.id, key_id=key, end_user="alice")
    assert chat.model.calls == [(options, caller), (options, caller)]


async def test_a_conversation_id_is_made_when_none_is_given(chat: Chat) -> None:
    pirate = await chat.character()
    first = await chat.service.turn(chat.tenant, TurnRequest(character_id=pirate.id, content="a"))
    second = await chat.service.turn(chat.tenant, TurnRequest(character_id=pirate.id, content="b"))
    assert first.conversation_id != second.conversation_id
    assert await chat.stored(first.conversation_id) is not None


async def test_the_next_turn_has_the_conversation_so_far_as_history(chat: Chat) -> None:
    pirate = await chat.character(ttl=60)
    await chat.service.turn(chat.tenant, ask(pirate, "Ahoy"))

    result = await chat.service.turn(chat.tenant, ask(pirate, "And the map?"))

    assert [(m.role, m.content) for m in chat.model.prompts[-1]] == [
        ("system", "You are a pirate."),
        ("user", "Ahoy"),
        ("assistant", "Arr, matey"),
        ("user", "And the map?"),
    ]
    assert result.expires_at == chat.clock.now() + timedelta(seconds=60)  # the character's TTL


async def test_history_is_cut_to_the_budget_from_the_oldest_end() -> None:
    chat = await build_chat(HistoryBudget(max_messages=3, max_chars=1000))
    pirate = await chat.character()
    for question in ("one", "two", "three"):
        await chat.service.turn(chat.tenant, ask(pirate, question))

    history = chat.model.prompts[-1][1:-1]
    # The last three messages would open on a reply: that one goes too.
    assert [(m.role, m.content) for m in history] == [("user", "two"), ("assistant", "Arr, matey")]

    tight = await build_chat(HistoryBudget(max_messages=50, max_chars=len("Arr, matey") + 1))
    pirate = await tight.character()
    await tight.service.turn(tight.tenant, ask(pirate, "a long first question"))
    await tight.service.turn(tight.tenant, ask(pirate, "hi"))
    await tight.service.turn(tight.tenant, ask(pirate, "last"))
    assert [m.content for m in tight.model.prompts[-1][1:]] == ["last"]  # no pair fits whole


async def test_knowledge_of_the_chosen_kinds_above_the_score_goes_into_the_prompt(
    chat: Chat,
) -> None:
    gold = "the gold is buried under the old palm tree"
    await chat.vectors.upsert(
        chat.tenant,
        [
            SnippetInput(entity_type="faq", entity_id="gold", content=gold),
            SnippetInput(entity_type="memo", entity_id="gold", content=gold),  # another kind
        ],
    )
    pirate = await chat.character(knowledge=Knowledge(entity_types=("faq",), min_score=0.5))

    result = await chat.service.turn(chat.tenant, ask(pirate, "where is the gold buried"))

    assert [(h.snippet.entity_type, h.snippet.entity_id) for h in result.sources] == [
        ("faq", "gold")
    ]
    system = [m.content for m in chat.model.prompts[-1] if m.role == "system"]
    assert system[0] == "You are a pirate."
    assert system[1].endswith(f"[faq/gold] {gold}")
    assert len(system) == 2

    picky = await chat.character(knowledge=Knowledge(entity_types=("faq",), min_score=0.9))
    result = await chat.service.turn(chat.tenant, ask(picky, "where is the gold buried", "c2"))
    assert result.sources == ()
    assert [m.role for m in chat.model.prompts[-1]] == ["system", "user"]


class CountingEmbedder(HashingEmbedder):
    def __init__(self) -> None:
        super().__init__(64)
        self.embedded: list[str] = []

    async def embed(self, texts: Sequence[str]) -> list[tuple[float, ...]]:
        self.embedded += texts
        return await super().embed(texts)


async def test_knowledge_is_searched_the_way_the_character_chose() -> None:
    embedder = CountingEmbedder()
    chat = await build_chat(embedder=embedder)
    gold = "the gold is buried under the old palm tree"
    await chat.vectors.upsert(
        chat.tenant, [SnippetInput(entity_type="faq", entity_id="g", content=gold)]
    )
    by_words = Knowledge(entity_types=("faq",), min_score=0.01, mode="keyword")
    pirate = await chat.character(knowledge=by_words)
    embedder.embedded.clear()

    result = await chat.service.turn(chat.tenant, ask(pirate, "palm tree"))

    assert [h.snippet.entity_id for h in result.sources] == ["g"]
    assert embedder.embedded == []  # a keyword search embeds nothing


async def test_a_streamed_turn_yields_the_reply_as_it_comes_then_stores_it_once(
    chat: Chat,
) -> None:
    pirate = await chat.character()

    deltas, result = await streamed(chat, ask(pirate, "Ahoy"))

    assert [d.content for d in deltas] == ["Arr,", " matey"]  # no empty usage-only delta
    assert result.reply.content == "Arr, matey"
    assert result.reply.usage.output_tokens == 2  # from the provider's last delta
    stored = await chat.stored()
    assert stored is not None
    assert [m.content for m in stored.messages] == ["Ahoy", "Arr, matey"]


@pytest.mark.parametrize("streaming", [False, True], ids=["turn", "stream"])
async def test_the_question_is_stamped_when_asked_and_the_reply_when_it_came(
    chat: Chat, streaming: bool
) -> None:
    pirate = await chat.character()
    asked = chat.clock.now()
    chat.model.thinking = 5.0

    if streaming:
        await streamed(chat, ask(pirate))
    else:
        await chat.service.turn(chat.tenant, ask(pirate))

    stored = await chat.stored()
    assert stored is not None
    question, answer = stored.messages
    assert question.created_at == asked
    assert answer.created_at == asked + timedelta(seconds=5)


async def test_turns_number_their_messages_and_keep_the_replys_usage(chat: Chat) -> None:
    pirate = await chat.character()
    await chat.service.turn(chat.tenant, ask(pirate, "one"))
    await chat.service.turn(chat.tenant, ask(pirate, "two"))

    stored = await chat.stored()

    assert stored is not None
    assert [m.seq for m in stored.messages] == [1, 2, 3, 4]
    assert stored.last_seq == 4
    assert [m.usage is not None for m in stored.messages] == [False, True, False, True]


async def test_an_end_user_sees_and_forgets_only_their_own_conversations(chat: Chat) -> None:
    pirate = await chat.character()
    request = TurnRequest(character_id=pirate.id, content="hi", conversation_id="c1",
                          end_user="alice")  # fmt: skip
    await chat.service.turn(chat.tenant, request)

    assert (
        await chat.service.conversation(chat.tenant, "c1", end_user="alice")
    ).end_user == "alice"
    assert (await chat.service.conversation(chat.tenant, "c1")).end_user == "alice"  # the tenant
    with pytest.raises(NotFound):
        await chat.service.conversation(chat.tenant, "c1", end_user="bob")
    with pytest.raises(NotFound):
        await chat.service.forget(chat.tenant, "c1", end_user="bob")
    assert await chat.stored() is not None
    await chat.service.forget(chat.tenant, "c1", end_user="alice")
    assert await chat.stored() is None
