"""Use cases for characters (personas): create, read, list, partial update, soft delete."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from uuid import UUID, uuid4

from fastwrap.domain.errors import Ambiguous, CharacterNotFound, Invalid
from fastwrap.domain.memory import check_memory
from fastwrap.domain.model import (
    ENTITY_TYPE_RE,
    SEARCH_MODES,
    Character,
    Knowledge,
    MemorySettings,
    Page,
)
from fastwrap.domain.pagination import Cursor, check_limit, page_of
from fastwrap.domain.storable import check_text
from fastwrap.domain.updates import KEEP, CharacterPatch
from fastwrap.ports.clock import Clock
from fastwrap.ports.repositories import CharacterRepository

__all__ = ["UNSET", "CharacterDraft", "CharacterPatch", "CharacterService"]

MAX_NAME = 100
MAX_AGENT_ROLE = 20_000
MAX_TTL = 604_800
MAX_KNOWLEDGE_TOP_K = 50
MAX_TEMPERATURE = 2.0
MAX_OUTPUT_TOKENS = 1_000_000
MAX_TOKEN_BUDGET = 10**15
EVERY_PAGE = 500

UNSET = KEEP  # a field a PATCH did not send (distinct from an explicit null)


@dataclass(frozen=True, slots=True, kw_only=True)
class CharacterDraft:
    name: str | None = None
    agent_role: str
    ttl: int | None = None
    knowledge: Knowledge | None = None
    model: str | None = None
    temperature: float | None = None
    max_output_tokens: int | None = None
    end_user_daily_tokens: int | None = None
    memory: MemorySettings | None = None


def check_model(model: str | None, allowed: Sequence[str]) -> None:
    """A character's model must be one the operator allows (MODELS)."""
    if model is None or model in allowed:
        return
    listed = ", ".join(allowed) if allowed else "none (the operator has not set MODELS)"
    raise Invalid(f"model {model!r} is not allowed; allowed models: {listed}")


def check_count(name: str, value: int | None, maximum: int) -> None:
    if value is not None and not 1 <= value <= maximum:
        raise Invalid(f"{name} must be between 1 and {maximum} (or null)")


def _check_sampling(patch: CharacterPatch) -> None:
    t = patch.temperature
    if t is not KEEP and t is not None and not 0.0 <= t <= MAX_TEMPERATURE:
        raise Invalid(f"temperature must be between 0 and {MAX_TEMPERATURE:g} (or null)")
    if patch.max_output_tokens is not KEEP:
        check_count("max_output_tokens", patch.max_output_tokens, MAX_OUTPUT_TOKENS)
    if patch.end_user_daily_tokens is not KEEP:
        check_count("end_user_daily_tokens", patch.end_user_daily_tokens, MAX_TOKEN_BUDGET)


def _check_name(name: str | None) -> None:
    if name is not None and len(name) > MAX_NAME:
        raise Invalid(f"name must be at most {MAX_NAME} characters")
    check_text("name", name)


def _check_agent_role(agent_role: str | None) -> None:
    if agent_role is None:
        raise Invalid("agent_role cannot be removed")
    if not 1 <= len(agent_role) <= MAX_AGENT_ROLE:
        raise Invalid(f"agent_role must be 1-{MAX_AGENT_ROLE} characters")
    check_text("agent_role", agent_role)


def _check_ttl(ttl: int | None) -> None:
    if ttl is not None and not 1 <= ttl <= MAX_TTL:
        raise Invalid(f"ttl must be between 1 and {MAX_TTL} seconds")


def _check_patch(patch: CharacterPatch) -> None:
    """Each field on its own: a patch is applied to the row as it is when it is written."""
    if patch.name is not KEEP:
        _check_name(patch.name)
    if patch.agent_role is not KEEP:
        _check_agent_role(patch.agent_role)
    if patch.ttl is not KEEP:
        _check_ttl(patch.ttl)
    if patch.knowledge is not KEEP and patch.knowledge is not None:
        _check_knowledge(patch.knowledge)
    if patch.memory is not KEEP and patch.memory is not None:
        check_memory(patch.memory)
    _check_sampling(patch)


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
    def __init__(
        self,
        *,
        characters: CharacterRepository,
        clock: Clock,
        allowed_models: Sequence[str] = (),
    ) -> None:
        self._characters = characters
        self._clock = clock
        self._models = tuple(allowed_models)

    async def create(self, client_id: UUID, draft: CharacterDraft) -> Character:
        values = {f.name: getattr(draft, f.name) for f in fields(CharacterDraft)}
        self._check(CharacterPatch(**values))
        now = self._clock.now()
        character = Character(
            id=uuid4(), client_id=client_id, **values, created_at=now, updated_at=now
        )
        await self._characters.add(character)
        return character

    def _check(self, patch: CharacterPatch) -> None:
        _check_patch(patch)
        if patch.model is not KEEP:
            check_model(patch.model, self._models)

    async def get(self, client_id: UUID, character_id: UUID) -> Character:
        character = await self._characters.get(client_id, character_id)
        if character is None:
            raise CharacterNotFound("character not found")
        return character

    async def resolve(self, client_id: UUID, model: str) -> Character:
        """The character a model name means (SPEC §12): its id, or the name exactly one live
        character of the tenant has. Several with that name: Ambiguous; none: CharacterNotFound."""
        try:
            character_id = UUID(model)
        except ValueError:
            character_id = None
        if character_id is not None:
            character = await self._characters.get(client_id, character_id)
            if character is not None:
                return character
        named = await self._characters.named(client_id, model, 2) if len(model) <= MAX_NAME else []
        if len(named) > 1:
            raise Ambiguous(f"several characters are named {model!r}: use the character's id")
        if not named:
            raise CharacterNotFound(f"the model {model!r} does not exist")
        return named[0]

    async def list(self, client_id: UUID, cursor: str | None, limit: int) -> Page[Character]:
        check_limit(limit)
        after = Cursor.decode(cursor) if cursor else None
        rows = await self._characters.list_page(client_id, after, limit + 1)
        return page_of(rows, limit, lambda c: Cursor(c.created_at, c.id))

    async def every(self, client_id: UUID) -> tuple[Character, ...]:
        """All of the tenant's live characters, oldest first, read a page at a time."""
        found: tuple[Character, ...] = ()
        after: Cursor | None = None
        while page := await self._characters.list_page(client_id, after, EVERY_PAGE):
            found += tuple(page)
            if len(page) < EVERY_PAGE:
                break
            after = Cursor(page[-1].created_at, page[-1].id)
        return found

    async def update(self, client_id: UUID, character_id: UUID, patch: CharacterPatch) -> Character:
        """Change only the fields `patch` sends; a concurrent PATCH of other fields keeps its
        changes (the store applies both to the latest row)."""
        self._check(patch)
        updated = await self._characters.update(client_id, character_id, patch, self._clock.now())
        if updated is None:
            raise CharacterNotFound("character not found")
        return updated

    async def delete(self, client_id: UUID, character_id: UUID) -> None:
        if not await self._characters.delete(client_id, character_id, self._clock.now()):
            raise CharacterNotFound("character not found")
