"""ChatService over the in-memory adapters, for use-case tests without HTTP.

`ScriptedModel` is a fake of the ChatModel port (never of ChatService): a fixed reply, time
that passes on the manual clock while it "thinks", and the domain's own failures on demand.
`build_chat()` wires the real ChatService to it, to the memory storage and conversation
store and to the hashing embedder, for one tenant.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID, uuid4

from fastwrap.adapters.bundles import Storage
from fastwrap.adapters.langchain.hashing import HashingEmbedder
from fastwrap.adapters.memory.conversations import InMemoryConversationStore
from fastwrap.adapters.memory.repositories import memory_storage
from fastwrap.domain.chat import ChatService, HistoryBudget, TurnRequest
from fastwrap.domain.errors import DomainError, NotFound
from fastwrap.domain.memory import MemoryDefaults, MemoryService
from fastwrap.domain.memory_worker import MemoryWorker
from fastwrap.domain.model import (
    NO_OPTIONS,
    Caller,
    Character,
    ChatDelta,
    ChatReply,
    Conversation,
    Knowledge,
    MemorySettings,
    ModelOptions,
    PromptMessage,
    Usage,
)
from fastwrap.domain.vectors import VectorService
from fastwrap.ports.llm import ChatModel
from fastwrap.ports.memory import MemoryStore
from fastwrap.ports.repositories import CharacterRepository
from tests.contract.seeds import add_client
from tests.support.clock import ManualClock

DEFAULT_TTL = 3600
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


class ScriptedModel(ChatModel):
    """Answers `text`, word by word when streamed. Each call moves `clock` on by `thinking`
    seconds (spread over the words of a stream). After `fail(error, after=n)` calls raise
    `error`, a stream once it has yielded `n` words. `prompts` holds what each call was given,
    `calls` the options and caller each was made with."""

    def __init__(self, clock: ManualClock, text: str = "Arr, matey", thinking: float = 3.0) -> None:
        self.clock = clock
        self.text = text
        self.thinking = thinking
        self.prompts: list[list[PromptMessage]] = []
        self.calls: list[tuple[ModelOptions, Caller | None]] = []
        self._error: DomainError | None = None
        self._words_before_error = 0

    def fail(self, error: DomainError | None, *, after: int = 0) -> None:
        self._error = error
        self._words_before_error = after

    async def reply(
        self,
        messages: Sequence[PromptMessage],
        options: ModelOptions = NO_OPTIONS,
        caller: Caller | None = None,
    ) -> ChatReply:
        self.prompts.append(list(messages))
        self.calls.append((options, caller))
        self.clock.advance(self.thinking)
        if self._error is not None:
            raise self._error
        return ChatReply(content=self.text, usage=Usage(input_tokens=7, output_tokens=3))

    async def stream(
        self,
        messages: Sequence[PromptMessage],
        options: ModelOptions = NO_OPTIONS,
        caller: Caller | None = None,
    ) -> AsyncIterator[ChatDelta]:
        self.prompts.append(list(messages))
        self.calls.append((options, caller))
        words = self.text.split(" ")
        for i, word in enumerate(words):
            self.clock.advance(self.thinking / len(words))
            if self._error is not None and i == self._words_before_error:
                raise self._error
            yield ChatDelta(content=word if i == 0 else " " + word)
        yield ChatDelta(content="", usage=Usage(input_tokens=7, output_tokens=len(words)))

    async def aclose(self) -> None:
        pass


@dataclass
class Chat:
    """One tenant's chat use case, and the fakes around it that a test reads or steers.
    `memory` and `worker` are the real memory service and worker over the same storage."""

    service: ChatService
    model: ScriptedModel
    clock: ManualClock
    vectors: VectorService
    characters: CharacterRepository
    tenant: UUID
    storage: Storage
    memory: MemoryService
    worker: MemoryWorker

    async def character(
        self,
        *,
        ttl: int | None = None,
        knowledge: Knowledge | None = None,
        memory: MemorySettings | None = None,
        tenant: UUID | None = None,
    ) -> Character:
        now = self.clock.now()
        character = Character(
            id=uuid4(), client_id=tenant or self.tenant, name="Pirate",
            agent_role="You are a pirate.", ttl=ttl, knowledge=knowledge, memory=memory,
            created_at=now, updated_at=now,
        )  # fmt: skip
        await self.characters.add(character)
        return character

    async def stored(self, conversation_id: str = "c1") -> Conversation | None:
        try:
            return await self.service.conversation(self.tenant, conversation_id)
        except NotFound:
            return None


def ask(character: Character, content: str = "Where is the gold?", cid: str = "c1") -> TurnRequest:
    return TurnRequest(character_id=character.id, content=content, conversation_id=cid)


async def build_chat(
    budget: HistoryBudget | None = None,
    embedder: HashingEmbedder | None = None,
    *,
    memory_defaults: MemoryDefaults | None = None,
    memory_store: MemoryStore | None = None,
) -> Chat:
    clock = ManualClock(T0)
    storage = memory_storage()
    embedder = embedder or HashingEmbedder(64)
    vectors = VectorService(index=storage.vectors, embedder=embedder, clock=clock)
    model = ScriptedModel(clock)
    store = memory_store or storage.memory
    memory = MemoryService(
        store=store, embedder=embedder, defaults=memory_defaults or MemoryDefaults()
    )
    worker = MemoryWorker(store, embedder, clock, retention_days=90)
    service = ChatService(
        characters=storage.characters,
        conversations=InMemoryConversationStore(clock, lock_wait_seconds=0.2, max_messages=100),
        model=model,
        vectors=vectors,
        clock=clock,
        default_ttl=DEFAULT_TTL,
        budget=budget or HistoryBudget(),
        memory=memory,
    )
    tenant = await add_client(storage, clock.now())
    return Chat(service, model, clock, vectors, storage.characters, tenant, storage, memory, worker)
