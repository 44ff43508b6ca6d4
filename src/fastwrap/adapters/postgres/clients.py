"""Clients in PostgreSQL: uniqueness comes from constraints, deletion cascades in one statement."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg

from fastwrap.adapters.postgres.pool import connection
from fastwrap.domain.errors import Conflict, NotFound
from fastwrap.domain.model import Client
from fastwrap.domain.pagination import Cursor
from fastwrap.ports.repositories import ClientReader, ClientRepository

COLUMNS = "id, email, password_hash, key_digest, is_admin, is_active, created_at, updated_at"

INSERT = f"INSERT INTO clients ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
# Serialised by a transaction-scoped advisory lock, so two bootstraps cannot both see no admin.
FIRST_ADMIN_LOCK = "SELECT pg_advisory_xact_lock(4242001001)"
INSERT_FIRST_ADMIN = f"""
INSERT INTO clients ({COLUMNS})
SELECT $1, $2, $3, $4, $5, $6, $7, $8
WHERE NOT EXISTS (SELECT 1 FROM clients WHERE is_admin AND deleted_at IS NULL)
"""
UPDATE = """
UPDATE clients
SET email = $2, password_hash = $3, key_digest = $4, is_admin = $5, is_active = $6,
    updated_at = $7
WHERE id = $1 AND deleted_at IS NULL
"""
# One statement, hence one transaction: the client, its characters and its snippets go together.
DELETE_CASCADE = """
WITH client AS (
    UPDATE clients SET deleted_at = $2 WHERE id = $1 AND deleted_at IS NULL RETURNING id
), characters AS (
    UPDATE characters SET deleted_at = $2
    WHERE client_id IN (SELECT id FROM client) AND deleted_at IS NULL
), snippets AS (
    UPDATE embeddings SET deleted_at = $2
    WHERE client_id IN (SELECT id FROM client) AND deleted_at IS NULL
), documents AS (
    UPDATE documents SET deleted_at = $2
    WHERE client_id IN (SELECT id FROM client) AND deleted_at IS NULL
)
SELECT count(*) FROM client
"""
SELECT_BY_ID = f"SELECT {COLUMNS} FROM clients WHERE id = $1 AND deleted_at IS NULL"
SELECT_BY_EMAIL = (
    f"SELECT {COLUMNS} FROM clients WHERE lower(email) = lower($1) AND deleted_at IS NULL"
)
SELECT_BY_DIGEST = f"SELECT {COLUMNS} FROM clients WHERE key_digest = $1 AND deleted_at IS NULL"
SELECT_FIRST_PAGE = f"""
SELECT {COLUMNS} FROM clients WHERE deleted_at IS NULL ORDER BY created_at, id LIMIT $1
"""
SELECT_PAGE_AFTER = f"""
SELECT {COLUMNS} FROM clients
WHERE deleted_at IS NULL AND (created_at, id) > ($2, $3)
ORDER BY created_at, id LIMIT $1
"""


def _client(row: asyncpg.Record) -> Client:
    return Client(
        id=row["id"],
        email=row["email"],
        password_hash=row["password_hash"],
        key_digest=row["key_digest"],
        is_admin=row["is_admin"],
        is_active=row["is_active"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _values(client: Client) -> tuple[object, ...]:
    return (
        client.id,
        client.email,
        client.password_hash,
        client.key_digest,
        client.is_admin,
        client.is_active,
        client.created_at,
        client.updated_at,
    )


class PgClientRepository(ClientRepository, ClientReader):
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def add(self, client: Client) -> None:
        async with connection(self._pool) as conn:
            await conn.execute(INSERT, *_values(client))

    async def add_first_admin(self, client: Client) -> None:
        async with connection(self._pool) as conn, conn.transaction():
            await conn.execute(FIRST_ADMIN_LOCK)
            status = await conn.execute(INSERT_FIRST_ADMIN, *_values(client))
        if status != "INSERT 0 1":
            raise Conflict("an admin already exists")

    async def update(self, client: Client) -> None:
        values = _values(client)
        async with connection(self._pool) as conn:
            status = await conn.execute(UPDATE, *values[:6], client.updated_at)
        if status != "UPDATE 1":
            raise NotFound("client not found")

    async def delete(self, client_id: UUID, at: datetime) -> bool:
        async with connection(self._pool) as conn:
            return bool(await conn.fetchval(DELETE_CASCADE, client_id, at))

    async def _one(self, query: str, value: object) -> Client | None:
        async with connection(self._pool) as conn:
            row = await conn.fetchrow(query, value)
        return _client(row) if row is not None else None

    async def get(self, client_id: UUID) -> Client | None:
        return await self._one(SELECT_BY_ID, client_id)

    async def get_by_email(self, email: str) -> Client | None:
        return await self._one(SELECT_BY_EMAIL, email)

    async def get_by_key_digest(self, digest: str) -> Client | None:
        return await self._one(SELECT_BY_DIGEST, digest)

    async def list_page(self, after: Cursor | None, limit: int) -> list[Client]:
        async with connection(self._pool) as conn:
            if after is None:
                rows = await conn.fetch(SELECT_FIRST_PAGE, limit)
            else:
                rows = await conn.fetch(SELECT_PAGE_AFTER, limit, after.created_at, after.id)
        return [_client(row) for row in rows]
