"""Characters in PostgreSQL, always read within their tenant; knowledge is a jsonb value."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from fastwrap.adapters.postgres.pool import connection
from fastwrap.domain.errors import NotFound
from fastwrap.domain.model import Character, Knowledge
from fastwrap.domain.pagination import Cursor
from fastwrap.ports.repositories import CharacterRepository

COLUMNS = "id, client_id, name, agent_role, ttl, knowledge, created_at, updated_at"

INSERT = f"INSERT INTO characters ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
UPDATE = """
UPDATE characters
SET name = $3, agent_role = $4, ttl = $5, knowledge = $6, updated_at = $7
WHERE id = $1 AND client_id = $2 AND deleted_at IS NULL
"""
DELETE = """
UPDATE characters SET deleted_at = $3
WHERE id = $1 AND client_id = $2 AND deleted_at IS NULL
"""
SELECT_ONE = f"""
SELECT {COLUMNS} FROM characters WHERE id = $1 AND client_id = $2 AND deleted_at IS NULL
"""
SELECT_FIRST_PAGE = f"""
SELECT {COLUMNS} FROM characters
WHERE client_id = $1 AND deleted_at IS NULL
ORDER BY created_at, id LIMIT $2
"""
SELECT_PAGE_AFTER = f"""
SELECT {COLUMNS} FROM characters
WHERE client_id = $1 AND deleted_at IS NULL AND (created_at, id) > ($3, $4)
ORDER BY created_at, id LIMIT $2
"""


def knowledge_json(knowledge: Knowledge | None) -> dict[str, Any] | None:
    if knowledge is None:
        return None
    return {
        "entity_types": list(knowledge.entity_types),
        "top_k": knowledge.top_k,
        "min_score": knowledge.min_score,
        "mode": knowledge.mode,
    }


def knowledge_value(data: dict[str, Any] | None) -> Knowledge | None:
    if data is None:
        return None
    return Knowledge(
        entity_types=tuple(data["entity_types"]),
        top_k=int(data["top_k"]),
        min_score=float(data["min_score"]),
        mode=data.get("mode", "vector"),  # characters stored before modes existed
    )


def _character(row: asyncpg.Record) -> Character:
    return Character(
        id=row["id"],
        client_id=row["client_id"],
        name=row["name"],
        agent_role=row["agent_role"],
        ttl=row["ttl"],
        knowledge=knowledge_value(row["knowledge"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


class PgCharacterRepository(CharacterRepository):
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def add(self, character: Character) -> None:
        c = character
        async with connection(self._pool) as conn:
            await conn.execute(
                INSERT,
                *(c.id, c.client_id, c.name, c.agent_role, c.ttl),
                *(knowledge_json(c.knowledge), c.created_at, c.updated_at),
            )

    async def get(self, client_id: UUID, character_id: UUID) -> Character | None:
        async with connection(self._pool) as conn:
            row = await conn.fetchrow(SELECT_ONE, character_id, client_id)
        return _character(row) if row is not None else None

    async def list_page(self, client_id: UUID, after: Cursor | None, limit: int) -> list[Character]:
        async with connection(self._pool) as conn:
            if after is None:
                rows = await conn.fetch(SELECT_FIRST_PAGE, client_id, limit)
            else:
                rows = await conn.fetch(
                    SELECT_PAGE_AFTER, client_id, limit, after.created_at, after.id
                )
        return [_character(row) for row in rows]

    async def update(self, character: Character) -> None:
        c = character
        async with connection(self._pool) as conn:
            status = await conn.execute(
                UPDATE,
                *(c.id, c.client_id, c.name, c.agent_role, c.ttl),
                *(knowledge_json(c.knowledge), c.updated_at),
            )
        if status != "UPDATE 1":
            raise NotFound("character not found")

    async def delete(self, client_id: UUID, character_id: UUID, at: datetime) -> bool:
        async with connection(self._pool) as conn:
            status = await conn.execute(DELETE, character_id, client_id, at)
        return bool(status == "UPDATE 1")
