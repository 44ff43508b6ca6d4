"""In-memory characters, scoped to their tenant and soft-deleted like the PostgreSQL rows."""

from __future__ import annotations

from dataclasses import fields, replace
from datetime import datetime
from uuid import UUID

from fastwrap.adapters.memory.clients import (
    MemoryState,
    Record,
    after_cursor,
    as_jsonb,
    check_storable,
)
from fastwrap.domain.errors import Conflict
from fastwrap.domain.model import Character
from fastwrap.domain.pagination import Cursor
from fastwrap.domain.updates import KEEP, CharacterPatch
from fastwrap.ports.repositories import CharacterRepository

CHARACTER_EXISTS = "character already exists"
PATCHABLE = tuple(f.name for f in fields(CharacterPatch))


def _check_storable(character: Character) -> None:
    check_storable(character.name, character.agent_role)
    if character.knowledge is not None:
        as_jsonb(list(character.knowledge.entity_types))


class InMemoryCharacterRepository(CharacterRepository):
    def __init__(self, state: MemoryState | None = None) -> None:
        self._state = state or MemoryState()

    def _live(self, client_id: UUID, character_id: UUID) -> Record[Character] | None:
        record = self._state.characters.get(character_id)
        if record is None or record.deleted_at is not None:
            return None
        return record if record.value.client_id == client_id else None

    async def add(self, character: Character) -> None:
        _check_storable(character)
        if character.id in self._state.characters:
            raise Conflict(CHARACTER_EXISTS)
        self._state.require_client(character.client_id)
        self._state.characters[character.id] = Record(character)

    async def get(self, client_id: UUID, character_id: UUID) -> Character | None:
        record = self._live(client_id, character_id)
        return record.value if record is not None else None

    async def list_page(self, client_id: UUID, after: Cursor | None, limit: int) -> list[Character]:
        rows = [
            r.value
            for r in self._state.characters.values()
            if r.deleted_at is None
            and r.value.client_id == client_id
            and after_cursor(r.value.created_at, r.value.id, after)
        ]
        rows.sort(key=lambda c: (c.created_at, c.id))
        return rows[: max(limit, 0)]

    async def named(self, client_id: UUID, name: str, limit: int) -> list[Character]:
        rows = [
            r.value
            for r in self._state.characters.values()
            if r.deleted_at is None and r.value.client_id == client_id and r.value.name == name
        ]
        rows.sort(key=lambda c: (c.created_at, c.id))
        return rows[: max(limit, 0)]

    async def update(
        self, client_id: UUID, character_id: UUID, patch: CharacterPatch, at: datetime
    ) -> Character | None:
        # No await between the read and the write: the update is atomic, as in PostgreSQL.
        record = self._live(client_id, character_id)
        if record is None:
            return None
        changes = {name: value for name in PATCHABLE if (value := getattr(patch, name)) is not KEEP}
        updated = replace(record.value, **changes, updated_at=at)
        _check_storable(updated)
        record.value = updated
        return updated

    async def delete(self, client_id: UUID, character_id: UUID, at: datetime) -> bool:
        record = self._live(client_id, character_id)
        if record is None:
            return False
        record.deleted_at = at
        self._state.forget_memory(lambda item: item.character_id == character_id)
        return True
