"""Responses and conversations as domain use cases over one tenant, on a given conversation
store (the contract tests run it over both): `build_desk`, and what its tests read."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from fastwrap.adapters.langchain.hashing import HashingEmbedder
from fastwrap.adapters.memory.repositories import memory_storage
from fastwrap.domain.chat import ChatService, HistoryBudget
from fastwrap.domain.conversations import ConversationService
from fastwrap.domain.model import Character, PromptMessage
from fastwrap.domain.responses import Response, ResponseRequest, ResponseService
from fastwrap.domain.vectors import VectorService
from tests.contract.seeds import add_client
from tests.support.chat import ScriptedModel
from tests.support.redis import ConversationCase

TTL = 3600


@dataclass
class Desk:
    responses: ResponseService
    conversations: ConversationService
    chat: ChatService
    model: ScriptedModel
    case: ConversationCase
    tenant: UUID
    pirate: Character
    parrot: Character

    def ask(
        self, *texts: str, character: Character | None = None, **fields: object
    ) -> ResponseRequest:
        """A request whose input is `texts`, alternating user/assistant and ending as user."""
        roles = ["user" if (len(texts) - i) % 2 else "assistant" for i in range(len(texts))]
        return ResponseRequest(
            character_id=(character or self.pirate).id,
            model="Pirate",
            input=tuple(
                PromptMessage(role=r, content=t) for r, t in zip(roles, texts, strict=True)
            ),  # type: ignore[arg-type]
            **fields,  # type: ignore[arg-type]
        )

    async def create(self, *texts: str, **fields: object) -> Response:
        return await self.responses.create(self.tenant, self.ask(*texts, **fields))

    async def contents(self, conversation_id: str | None) -> list[tuple[int, str, str]]:
        assert conversation_id is not None
        found = await self.case.store.get(self.tenant, conversation_id)
        assert found is not None
        return [(m.seq, m.role, m.content) for m in found.messages]

    def last_prompt(self) -> list[tuple[str, str]]:
        return [(m.role, m.content) for m in self.model.prompts[-1]]


async def build_desk(case: ConversationCase) -> Desk:
    storage = memory_storage()
    model = ScriptedModel(case.clock)
    vectors = VectorService(index=storage.vectors, embedder=HashingEmbedder(64), clock=case.clock)
    chat = ChatService(
        characters=storage.characters,
        conversations=case.store,
        model=model,
        vectors=vectors,
        clock=case.clock,
        default_ttl=TTL,
        budget=HistoryBudget(),
    )
    tenant = await add_client(storage, case.clock.now())
    characters = []
    for name, role in (("Pirate", "You are a pirate."), ("Parrot", "You repeat.")):
        now = case.clock.now()
        character = Character(
            id=UUID(int=len(characters) + 1),
            client_id=tenant,
            name=name,
            agent_role=role,
            created_at=now,
            updated_at=now,
        )
        await storage.characters.add(character)
        characters.append(character)
    return Desk(
        responses=ResponseService(chat=chat, conversations=case.store, clock=case.clock),
        conversations=ConversationService(
            conversations=case.store, clock=case.clock, default_ttl=TTL
        ),
        chat=chat,
        model=model,
        case=case,
        tenant=tenant,
        pirate=characters[0],
        parrot=characters[1],
    )
