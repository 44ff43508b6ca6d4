"""Use cases for characters (personas): create, read, list, partial update, soft delete."""

from __future__ import annotations

from dataclasses import dataclass, replace
from uuid import UUID, uuid4

from fastwrap.domain.errors import Invalid, NotFound
from fastwrap.domain.model import ENTITY_TYPE_RE, SEARCH_MODES, Character, Knowledge, Page
from fastwrap.domain.pagination import Cursor, check_limit, page_of
from fastwrap.ports.clock import Clock
from fastwrap.ports.repositories import CharacterRepository

MAX_NAME = 100
MAX_AGENT_ROLE = 20_000
MAX_TTL = 604_800
MAX_KNOWLEDGE_TOP_K = 50


class _Unset:
    """Marks a field a PATCH did not send (distinct from an explicit null)."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET = _Unset()


@dataclass(frozen=True, slots=True, kw_only=True)
class CharacterDraft:
    name: str | None = None
    agent_role: str
    ttl: int | None = None
    knowledge: Knowledge | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CharacterPatch:
    """Only the fields that are not UNSET change; None clears an optional field."""

    name: str | _Unset | None = UNSET
    agent_role: str | _Unset | None = UNSET  # None is refused: the prompt is required
    ttl: int | _Unset | None = UNSET
    knowledge: Knowledge | _Unset | None = UNSET


def _check(character: Character) -> Character:
    if character.name is not None and len(character.name) > MAX_NAME:
        raise Invalid(f"name must be at most {MAX_NAME} characters")
    if not 1 <= len(character.agent_role) <= MAX_AGENT_ROLE:
        raise Invalid(f"agent_role must be 1-{MAX_AGENT_ROLE} characters")
    if character.ttl is not None and not 1 <= character.ttl <= MAX_TTL:
        raise Invalid(f"ttl must be between 1 and {MAX_TTL} seconds")
    if character.knowledge is not None:
        _check_knowledge(character.knowledge)
    return character


def _check_knowledge(knowledge: Knowledge) -> None:
    if not knowledge.entity_types or len(knowledge.entity_types) > 20:
        raise Invalid("knowledge.entity_types must list 1-20 entity types")
    if not all(ENTITY_TYPE_RE.fullmatch(t) for t in knowledge.entity_types):
        raise Invalid("knowledge.entity_types must be 1-64 characters of [A-Za-z0-9._:-]")
    if not 1 <= knowledge.top_k <= MAX_KNOWLEDGE_TOP_K:
        raise Invalid(f"knowledge.top_k must be between 1 and {MAX_KNOWLEDGE_TOP_K}")
    if not -1.0 <= knowledge.min_score <= 1.0:
        raise Invalid("knowledge.min_score must be between -1 and 1")
    if knowledge.mode not in SEARCH_MODES:
        raise Invalid(f"knowledge.mode must be one of {', '.join(SEARCH_MODES)}")


class CharacterService:
    def __init__(self, *, characters: CharacterRepository, clock: Clock) -> None:
        self._characters = characters
        self._clock = clock

    async def create(self, client_id: UUID, draft: CharacterDraft) -> Character:
        now = self._clock.now()
        character = _check(
            Character(
                id=uuid4(),
                client_id=client_id,
                name=draft.name,
                agent_role=draft.agent_role,
                ttl=draft.ttl,
                knowledge=draft.knowledge,
                created_at=now,
                updated_at=now,
            )
        )
        await self._characters.add(character)
        return character

    async def get(self, client_id: UUID, character_id: UUID) -> Character:
        character = await self._characters.get(client_id, character_id)
        if character is None:
            raise NotFound("character not found")
        return character

    async def list(self, client_id: UUID, cursor: str | None, limit: int) -> Page[Character]:
        check_limit(limit)
        after = Cursor.decode(cursor) if cursor else None
        rows = await self._characters.list_page(client_id, after, limit + 1)
        return page_of(rows, limit, lambda c: Cursor(c.created_at, c.id))

    async def update(self, client_id: UUID, character_id: UUID, patch: CharacterPatch) -> Character:
        current = await self.get(client_id, character_id)
        changes = {
            name: value
            for name in ("name", "agent_role", "ttl", "knowledge")
            if (value := getattr(patch, name)) is not UNSET
        }
        if "agent_role" in changes and changes["agent_role"] is None:
            raise Invalid("agent_role cannot be removed")
        updated = _check(replace(current, **changes, updated_at=self._clock.now()))
        await self._characters.update(updated)
        return updated

    async def delete(self, client_id: UUID, character_id: UUID) -> None:
        if not await self._characters.delete(client_id, character_id, self._clock.now()):
            raise NotFound("character not found")
