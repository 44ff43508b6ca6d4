"""Long-term memory through ChatService (SPEC §15), over the in-memory adapters and the real
memory service and worker: what is remembered, what is recalled where, and what never is."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from fastwrap.adapters.langchain.hashing import HashingEmbedder
from fastwrap.adapters.memory.memory import InMemoryMemoryStore
from fastwrap.domain.chat import HistoryBudget, TurnRequest, TurnResult
from fastwrap.domain.errors import Unavailable, UpstreamFailed
from fastwrap.domain.memory import MemoryDefaults
from fastwrap.domain.memory_items import MemoryHit, MemoryItem, MemoryQuery
from fastwrap.domain.memory_worker import MemoryWorker
from fastwrap.domain.model import (
    Character,
    ChatDelta,
    Knowledge,
    MemoryScope,
    MemorySettings,
    PromptMessage,
    SnippetInput,
)
from tests.contract.seeds import add_client
from tests.support.chat import Chat, build_chat

FACT = "My dog is called Rex"
QUESTION = "What is my dog called?"
# The hashing embedder is lexical: score by shared words; -1 lets only the scope decide.
ANY_SCORE = -1.0


def remembering(scope: MemoryScope = "end_user", **changes: object) -> MemorySettings:
    return replace(MemorySettings(scope=scope, min_score=ANY_SCORE), **changes)  # type: ignore[arg-type]


def turn(character: Character, content: str, cid: str, end_user: str | None) -> TurnRequest:
    return TurnRequest(
        character_id=character.id, content=content, conversation_id=cid, end_user=end_user
    )


async def told(
    chat: Chat, character: Character, cid: str = "c1", end_user: str | None = "alice"
) -> None:
    """A turn telling the fact, remembered and embedded."""
    await chat.service.turn(character.client_id, turn(character, FACT, cid, end_user))
    assert await chat.worker.run_once() == 1


async def asked(
    chat: Chat, character: Character, cid: str = "c2", end_user: str | None = "alice"
) -> TurnResult:
    return await chat.service.turn(character.client_id, turn(character, QUESTION, cid, end_user))


def recalled(result: TurnResult) -> list[str]:
    return [hit.item.content for hit in result.memories]


def memory_message(prompt: Sequence[PromptMessage]) -> str | None:
    found = [m.content for m in prompt if m.role == "system" and "remember" in m.content]
    return found[0] if found else None


@pytest.fixture
async def chat() -> Chat:
    return await build_chat()


async def test_an_end_user_is_remembered_across_their_conversations(chat: Chat) -> None:
    pirate = await chat.character(memory=remembering())
    await told(chat, pirate, "c1")

    result = await asked(chat, pirate, "c2")

    assert recalled(result) == [f"User: {FACT}\nAssistant: Arr, matey"]
    assert result.memories[0].item.conversation_id == "c1"
    shown = memory_message(chat.model.prompts[-1])
    assert shown is not None
    assert FACT in shown
    assert "[chat 2026-03-01]" in shown


async def test_the_prompt_gives_memory_after_knowledge_and_before_the_history(
    chat: Chat,
) -> None:
    knowledge = Knowledge(entity_types=("faq",), min_score=ANY_SCORE)
    pirate = await chat.character(memory=remembering(), knowledge=knowledge)
    await chat.vectors.upsert(
        chat.tenant, [SnippetInput(entity_type="faq", entity_id="dogs", content="Dogs bark.")]
    )
    await told(chat, pirate, "c1")
    await chat.service.turn(chat.tenant, turn(pirate, "Ahoy", "c2", "alice"))

    await asked(chat, pirate, "c2")

    prompt = chat.model.prompts[-1]
    kinds = [
        "knowledge" if "knowledge" in m.content else "memory" if "remember" in m.content else m.role
        for m in prompt
    ]
    assert kinds == ["system", "knowledge", "memory", "user", "assistant", "user"]
    assert prompt[-1].content == QUESTION


async def test_memory_never_crosses_end_users_characters_or_tenants(chat: Chat) -> None:
    pirate = await chat.character(memory=remembering())
    sailor = await chat.character(memory=remembering())
    other_tenant = await add_client(chat.storage, chat.clock.now())
    stranger = await chat.character(memory=remembering(), tenant=other_tenant)
    await told(chat, pirate, "c1", "alice")
    await told(chat, stranger, "c1", "alice")  # the same names in another tenant

    assert len((await asked(chat, pirate, "c2", "alice")).memories) == 1
    assert recalled(await asked(chat, pirate, "c3", "bob")) == []
    assert recalled(await asked(chat, pirate, "c4", None)) == []  # scope end_user: no one
    assert recalled(await asked(chat, sailor, "c5", "alice")) == []
    crossed = await asked(chat, stranger, "c6", "alice")
    assert [h.item.client_id for h in crossed.memories] == [other_tenant]


async def test_scope_conversation_recalls_only_what_that_conversation_no_longer_shows() -> None:
    chat = await build_chat(budget=HistoryBudget(max_messages=2))
    pirate = await chat.character(memory=remembering("conversation"))
    await told(chat, pirate, "c1")

    in_history = await asked(chat, pirate, "c1")  # the fact is in the history it is given
    assert recalled(in_history) == []
    await chat.worker.run_once()
    dropped = await asked(chat, pirate, "c1")  # only the last turn is left in the history
    assert [h.item.seq for h in dropped.memories] == [1]
    assert recalled(await asked(chat, pirate, "c2")) == []  # another conversation


async def test_scope_character_spans_conversations_but_keeps_end_users_apart(
    chat: Chat,
) -> None:
    pirate = await chat.character(memory=remembering("character"))
    await told(chat, pirate, "c1", None)
    await told(chat, pirate, "c2", "alice")

    anonymous = await asked(chat, pirate, "c3", None)
    alices = await asked(chat, pirate, "c4", "alice")

    assert [h.item.end_user for h in anonymous.memories] == [None]
    assert [h.item.end_user for h in alices.memories] == ["alice"]


async def test_top_k_and_min_score_bound_what_is_recalled(chat: Chat) -> None:
    pirate = await chat.character(memory=remembering(top_k=1))
    for n, fact in enumerate([FACT, "My cat is called Tom", "Rum is good"]):
        await chat.service.turn(chat.tenant, turn(pirate, fact, f"c{n}", "alice"))
    assert await chat.worker.run_once() == 3

    [best] = (await asked(chat, pirate, "q1")).memories
    assert "Rex" in best.item.content
    strict = await chat.character(memory=remembering(min_score=0.99))
    await chat.service.turn(chat.tenant, turn(strict, FACT, "s1", "alice"))
    await chat.worker.run_once()
    assert recalled(await asked(chat, strict, "s2")) == []


async def test_an_item_is_recalled_only_once_the_worker_embedded_it(chat: Chat) -> None:
    pirate = await chat.character(memory=remembering())
    await chat.service.turn(chat.tenant, turn(pirate, FACT, "c1", "alice"))
    [item] = (await chat.memory.items(chat.tenant, "alice", None, 10)).items
    assert not item.embedded

    assert recalled(await asked(chat, pirate, "c2")) == []
    assert await chat.worker.run_once() == 2  # the fact, and the question just asked
    assert len((await asked(chat, pirate, "c3")).memories) == 2


async def test_a_character_without_memory_remembers_nothing(chat: Chat) -> None:
    pirate = await chat.character()
    forgetful = await chat.character(memory=MemorySettings(enabled=False))
    for character in (pirate, forgetful):
        await chat.service.turn(chat.tenant, turn(character, FACT, f"c-{character.id}", "alice"))

    assert (await chat.memory.items(chat.tenant, "alice", None, 10)).items == ()


async def test_the_operators_defaults_apply_to_characters_that_set_no_memory() -> None:
    defaults = MemoryDefaults(settings=MemorySettings(min_score=ANY_SCORE), label="mem")
    chat = await build_chat(memory_defaults=defaults)
    pirate = await chat.character()
    opted_out = await chat.character(memory=MemorySettings(enabled=False))
    await told(chat, pirate)

    result = await asked(chat, pirate)
    assert len(result.memories) == 1
    assert "[mem " in (memory_message(chat.model.prompts[-1]) or "")
    await chat.service.turn(chat.tenant, turn(opted_out, FACT, "o1", "alice"))
    assert await chat.worker.run_once() == 1  # only the question `asked` made


async def test_a_streamed_turn_remembers_and_says_what_it_recalled(chat: Chat) -> None:
    pirate = await chat.character(memory=remembering())
    await told(chat, pirate)

    stream = await chat.service.stream_turn(chat.tenant, turn(pirate, QUESTION, "c2", "alice"))
    events = [event async for event in stream]

    *deltas, result = events
    assert all(isinstance(d, ChatDelta) for d in deltas)
    assert isinstance(result, TurnResult)
    assert len(result.memories) == 1
    assert await chat.worker.run_once() == 1  # the streamed turn is remembered too


async def test_the_memory_prompt_stays_within_its_character_budget() -> None:
    chat = await build_chat(memory_defaults=MemoryDefaults(max_chars=300))
    pirate = await chat.character(memory=remembering(top_k=10))
    for n in range(6):
        await chat.service.turn(chat.tenant, turn(pirate, f"{FACT} {'x' * 100}", f"c{n}", "alice"))
    await chat.worker.run_once()

    await asked(chat, pirate, "q")

    shown = memory_message(chat.model.prompts[-1])
    assert shown is not None
    assert len(shown) <= 300
    assert shown.count("\n") >= 1


class BrokenMemoryStore(InMemoryMemoryStore):
    """A memory store whose database is down (a port's failure, not a fake of ChatService)."""

    async def add(self, items: Sequence[MemoryItem]) -> None:
        raise Unavailable("the database is unavailable")

    async def recall(self, query: MemoryQuery) -> list[MemoryHit]:
        raise Unavailable("the database is unavailable")


async def test_a_failing_memory_store_never_fails_a_turn(caplog: pytest.LogCaptureFixture) -> None:
    chat = await build_chat(memory_store=BrokenMemoryStore())
    pirate = await chat.character(memory=remembering())

    with caplog.at_level(logging.WARNING, logger="fastwrap.memory"):
        result = await chat.service.turn(chat.tenant, turn(pirate, FACT, "c1", "alice"))

    assert result.reply.content == "Arr, matey"
    assert result.memories == ()
    assert await chat.stored("c1") is not None
    assert "memory not recalled" in caplog.text
    assert "memory of a turn not stored" in caplog.text


class DownEmbedder(HashingEmbedder):
    """An embedding provider that is down (the Embedder port failing)."""

    async def embed(self, texts: Sequence[str]) -> list[tuple[float, ...]]:
        raise UpstreamFailed("the embedding provider failed")


async def test_a_failing_embedder_costs_a_turn_its_memories_not_the_turn(
    caplog: pytest.LogCaptureFixture,
) -> None:
    chat = await build_chat(embedder=DownEmbedder(64))
    pirate = await chat.character(memory=remembering())

    with caplog.at_level(logging.WARNING, logger="fastwrap.memory"):
        result = await chat.service.turn(chat.tenant, turn(pirate, FACT, "c1", "alice"))

    assert result.memories == ()
    assert "memory not recalled" in caplog.text
    assert await chat.worker.run_once() == 0  # the item waits for the embedder to come back
    [waiting] = (await chat.memory.items(chat.tenant, "alice", None, 10)).items
    assert not waiting.embedded


async def test_items_past_their_retention_are_deleted(chat: Chat) -> None:
    pirate = await chat.character(memory=remembering())
    await told(chat, pirate)

    chat.clock.advance(timedelta(days=89).total_seconds())
    assert await chat.worker.expire() == 0
    chat.clock.advance(timedelta(days=2).total_seconds())
    assert await chat.worker.expire() == 1
    assert recalled(await asked(chat, pirate)) == []


class FlakyMemoryStore(InMemoryMemoryStore):
    """A store whose first claim hits a bug (an error that is no DomainError)."""

    def __init__(self) -> None:
        super().__init__()
        self.failures = 1

    async def claim(self, now: datetime, until: datetime, limit: int) -> list[MemoryItem]:
        if self.failures:
            self.failures -= 1
            raise RuntimeError("a bug")
        return await super().claim(now, until, limit)


async def test_the_worker_goes_on_after_an_unexpected_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = FlakyMemoryStore()
    chat = await build_chat(memory_store=store)
    pirate = await chat.character(memory=remembering())
    worker = MemoryWorker(
        store, HashingEmbedder(64), chat.clock, retention_days=0, poll_seconds=0.01
    )

    with caplog.at_level(logging.ERROR, logger="fastwrap.memory"):
        async with worker.running():
            await chat.service.turn(chat.tenant, turn(pirate, FACT, "c1", "alice"))
            async with asyncio.timeout(5):
                while (
                    not (await chat.memory.items(chat.tenant, "alice", None, 10)).items[0].embedded
                ):
                    await asyncio.sleep(0.01)

    assert "memory worker failed" in caplog.text
