"""Characters in PostgreSQL, always read within their tenant; knowledge is a jsonb value."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from fastwrap.adapters.postgres.pool import connection
from fastwrap.domain.model import Character, Knowledge, MemorySettings
from fastwrap.domain.pagination import Cursor
from fastwrap.domain.updates import KEEP, CharacterPatch, Keep
from fastwrap.ports.repositories import CharacterRepository

COLUMNS = (
    "id, client_id, name, agent_role, ttl, knowledge, created_at, updated_at,"
    " model, temperature, max_output_tokens, end_user_daily_tokens, memory"
)

INSERT = f"""
INSERT INTO characters ({COLUMNS})
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
"""
# Only the fields the patch names (a true flag) change, computed from the row as it is when the
# update runs: two PATCHes of different fields at once both take effect.
UPDATE = f"""
UPDATE characters SET
    name = CASE WHEN $3 THEN $4 ELSE name END,
    agent_role = COALESCE($5, agent_role),
    ttl = CASE WHEN $6 THEN $7 ELSE ttl END,
    knowledge = CASE WHEN $8 THEN $9::jsonb ELSE knowledge END,
    updated_at = $10,
    model = CASE WHEN $11 THEN $12 ELSE model END,
    temperature = CASE WHEN $13 THEN $14::double precision ELSE temperature END,
    max_output_tokens = CASE WHEN $15 THEN $16::integer ELSE max_output_tokens END,
    end_user_daily_tokens = CASE WHEN $17 THEN $18::bigint ELSE end_user_daily_tokens END,
    memory = CASE WHEN $19 THEN $20::jsonb ELSE memory END
WHERE id = $1 AND client_id = $2 AND deleted_at IS NULL
RETURNING {COLUMNS}
"""
# What the character remembered goes with it (memory items are deleted for good).
DELETE = """
WITH gone AS (
    UPDATE characters SET deleted_at = $3
    WHERE id = $1 AND client_id = $2 AND deleted_at IS NULL
    RETURNING id
), memory AS (
    DELETE FROM memory_items WHERE client_id = $2 AND character_id IN (SELECT id FROM gone)
)
SELECT count(*) FROM gone
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

# The tenant's live rows by the (client_id, created_at, id) index, filtered by name: a lookup by
# name is rare (a model named by its character's name) and a tenant's characters are few.
SELECT_NAMED = f"""
SELECT {COLUMNS} FROM characters
WHERE client_id = $1 AND deleted_at IS NULL AND name = $2
ORDER BY created_at, id LIMIT $3
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


def memory_json(memory: MemorySettings | None) -> dict[str, Any] | None:
    if memory is None:
        return None
    return {
        "enabled": memory.enabled,
        "top_k": memory.top_k,
        "min_score": memory.min_score,
        "scope": memory.scope,
    }


def memory_value(data: dict[str, Any] | None) -> MemorySettings | None:
    if data is None:
        return None
    return MemorySettings(
        enabled=bool(data["enabled"]),
        top_k=int(data["top_k"]),
        min_score=float(data["min_score"]),
        scope=data["scope"],
    )


def _character(row: asyncpg.Record) -> Character:
    return Character(
        id=row["id"],
        client_id=row["client_id"],
        name=row["name"],
        agent_role=row["agent_role"],
        ttl=row["ttl"],
        knowledge=knowledge_value(row["knowledge"]),
        model=row["model"],
        temperature=row["temperature"],
        max_output_tokens=row["max_output_tokens"],
        end_user_daily_tokens=row["end_user_daily_tokens"],
        memory=memory_value(row["memory"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _set[T](value: T | Keep) -> T | None:
    return None if value is KEEP else value


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
                *(c.model, c.temperature, c.max_output_tokens, c.end_user_daily_tokens),
                memory_json(c.memory),
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

    async def named(self, client_id: UUID, name: str, limit: int) -> list[Character]:
        async with connection(self._pool) as conn:
            rows = await conn.fetch(SELECT_NAMED, client_id, name, limit)
        return [_character(row) for row in rows]

    async def update(
        self, client_id: UUID, character_id: UUID, patch: CharacterPatch, at: datetime
    ) -> Character | None:
        p = patch
        knowledge = None if p.knowledge is KEEP else knowledge_json(p.knowledge)
        async with connection(self._pool) as conn:
            row = await conn.fetchrow(
                UPDATE,
                *(character_id, client_id, p.name is not KEEP, _set(p.name)),
                _set(p.agent_role),
                *(p.ttl is not KEEP, _set(p.ttl), p.knowledge is not KEEP, knowledge, at),
                *(p.model is not KEEP, _set(p.model)),
                *(p.temperature is not KEEP, _set(p.temperature)),
                *(p.max_output_tokens is not KEEP, _set(p.max_output_tokens)),
                *(p.end_user_daily_tokens is not KEEP, _set(p.end_user_daily_tokens)),
                *(p.memory is not KEEP, None if p.memory is KEEP else memory_json(p.memory)),
            )
        return _character(row) if row is not None else None

    async def delete(self, client_id: UUID, character_id: UUID, at: datetime) -> bool:
        async with connection(self._pool) as conn:
            deleted = await conn.fetchval(DELETE, character_id, client_id, at)
        return bool(deleted)
