"""Clients in PostgreSQL: uniqueness comes from constraints, deletion cascades in one statement."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg

from fastwrap.adapters.postgres.pool import connection
from fastwrap.domain.errors import Conflict
from fastwrap.domain.model import Client
from fastwrap.domain.pagination import Cursor
from fastwrap.domain.updates import ANY_CLIENT, KEEP, ClientCondition, ClientUpdate, Keep
from fastwrap.ports.repositories import ClientReader, ClientRepository

COLUMNS = (
    "id, email, password_hash, key_digest, is_admin, is_active, subscription, store_name, phone,"
    " created_at, updated_at, allowed_origins, end_user_daily_tokens,"
    " token_budget_daily, token_budget_monthly"
)
READ_COLUMNS = f"{COLUMNS}, deleted_at"

VALUES = "$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15"
INSERT = f"INSERT INTO clients ({COLUMNS}) VALUES ({VALUES})"
# Serialised by a transaction-scoped advisory lock, so two bootstraps cannot both see no admin.
FIRST_ADMIN_LOCK = "SELECT pg_advisory_xact_lock(4242001001)"
INSERT_FIRST_ADMIN = f"""
INSERT INTO clients ({COLUMNS})
SELECT {VALUES}
WHERE NOT EXISTS (SELECT 1 FROM clients WHERE is_admin AND deleted_at IS NULL)
"""
# Column by column: a NULL parameter (or a false flag, for the columns that may hold NULL)
# leaves the column as the row has it *when the update runs*, not as a copy read earlier had
# it, so concurrent writes of different fields all take effect. The condition is re-checked on
# the latest row version after any concurrent update commits (READ COMMITTED), which makes it
# a compare-and-set: of two rotations from one key digest, exactly one matches.
UPDATE = f"""
UPDATE clients SET
    email = COALESCE($2, email),
    password_hash = COALESCE($3, password_hash),
    key_digest = COALESCE($4, key_digest),
    is_active = COALESCE($5, is_active),
    is_admin = COALESCE($6, is_admin),
    subscription = CASE WHEN $7 THEN $8 ELSE subscription END,
    store_name = CASE WHEN $9 THEN $10 ELSE store_name END,
    phone = CASE WHEN $11 THEN $12 ELSE phone END,
    allowed_origins = COALESCE($17, allowed_origins),
    end_user_daily_tokens = CASE WHEN $18 THEN $19 ELSE end_user_daily_tokens END,
    token_budget_daily = CASE WHEN $20 THEN $21 ELSE token_budget_daily END,
    token_budget_monthly = CASE WHEN $22 THEN $23 ELSE token_budget_monthly END,
    updated_at = $13
WHERE id = $1 AND deleted_at IS NULL
    AND ($14::text IS NULL OR key_digest = $14)
    AND ($15::text IS NULL OR password_hash = $15)
    AND ($16::boolean IS NULL OR is_active = $16)
RETURNING {READ_COLUMNS}
"""
# One statement, hence one transaction: the client, its characters and its snippets go together
# (memory items have no deleted_at: they are deleted for good).
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
), keys AS (
    UPDATE api_keys SET deleted_at = $2
    WHERE client_id IN (SELECT id FROM client) AND deleted_at IS NULL
), tokens AS (
    UPDATE end_user_tokens SET deleted_at = $2
    WHERE client_id IN (SELECT id FROM client) AND deleted_at IS NULL
), memory AS (
    DELETE FROM memory_items WHERE client_id IN (SELECT id FROM client)
)
SELECT count(*) FROM client
"""
SELECT_BY_ID = f"SELECT {READ_COLUMNS} FROM clients WHERE id = $1 AND deleted_at IS NULL"
SELECT_ANY_BY_ID = f"SELECT {READ_COLUMNS} FROM clients WHERE id = $1"
SELECT_BY_EMAIL = (
    f"SELECT {READ_COLUMNS} FROM clients WHERE lower(email) = lower($1) AND deleted_at IS NULL"
)
# A preflight carries no key: its origin is allowed if any live, active tenant allows it.
ORIGIN_ALLOWED = """
SELECT EXISTS (
    SELECT 1 FROM clients
    WHERE allowed_origins @> ARRAY[$1::text] AND deleted_at IS NULL AND is_active
)
"""
SELECT_BY_DIGEST = (
    f"SELECT {READ_COLUMNS} FROM clients WHERE key_digest = $1 AND deleted_at IS NULL"
)


def _page_query(*, include_deleted: bool, after: bool) -> str:
    """Four fixed statements, so each keeps a plan that fits it (the live ones use the partial
    index on live rows)."""
    where = [] if include_deleted else ["deleted_at IS NULL"]
    if after:
        where.append("(created_at, id) > ($2, $3)")
    condition = f"WHERE {' AND '.join(where)}" if where else ""
    return f"SELECT {READ_COLUMNS} FROM clients {condition} ORDER BY created_at, id LIMIT $1"


SELECT_PAGE = {
    (deleted, after): _page_query(include_deleted=deleted, after=after)
    for deleted in (False, True)
    for after in (False, True)
}


def client_of(row: asyncpg.Record) -> Client:
    return Client(
        id=row["id"],
        email=row["email"],
        password_hash=row["password_hash"],
        key_digest=row["key_digest"],
        is_admin=row["is_admin"],
        is_active=row["is_active"],
        subscription=row["subscription"],
        store_name=row["store_name"],
        phone=row["phone"],
        token_budget_daily=row["token_budget_daily"],
        token_budget_monthly=row["token_budget_monthly"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        deleted_at=row["deleted_at"],
        allowed_origins=tuple(row["allowed_origins"]),
        end_user_daily_tokens=row["end_user_daily_tokens"],
    )


def _values(client: Client) -> tuple[object, ...]:
    c = client
    return (
        *(c.id, c.email, c.password_hash, c.key_digest, c.is_admin, c.is_active),
        *(c.subscription, c.store_name, c.phone, c.created_at, c.updated_at),
        *(list(c.allowed_origins), c.end_user_daily_tokens),
        *(c.token_budget_daily, c.token_budget_monthly),
    )


def _nullable[T](value: T | Keep | None) -> tuple[bool, T | None]:
    return (False, None) if value is KEEP else (True, value)


def _set[T](value: T | Keep) -> T | None:
    return None if value is KEEP else value


def _update_args(client_id: UUID, u: ClientUpdate, c: ClientCondition) -> tuple[object, ...]:
    return (
        client_id,
        *(_set(u.email), _set(u.password_hash), _set(u.key_digest)),
        *(_set(u.is_active), _set(u.is_admin)),
        *_nullable(u.subscription),
        *_nullable(u.store_name),
        *_nullable(u.phone),
        u.updated_at,
        *(c.key_digest, c.password_hash, c.is_active),
        None if u.allowed_origins is KEEP else list(u.allowed_origins),
        *_nullable(u.end_user_daily_tokens),
        *_nullable(u.token_budget_daily),
        *_nullable(u.token_budget_monthly),
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

    async def update(
        self, client_id: UUID, update: ClientUpdate, condition: ClientCondition = ANY_CLIENT
    ) -> Client | None:
        async with connection(self._pool) as conn:
            row = await conn.fetchrow(UPDATE, *_update_args(client_id, update, condition))
        return client_of(row) if row is not None else None

    async def delete(self, client_id: UUID, at: datetime) -> bool:
        async with connection(self._pool) as conn:
            return bool(await conn.fetchval(DELETE_CASCADE, client_id, at))

    async def _one(self, query: str, value: object) -> Client | None:
        async with connection(self._pool) as conn:
            row = await conn.fetchrow(query, value)
        return client_of(row) if row is not None else None

    async def get(self, client_id: UUID, *, include_deleted: bool = False) -> Client | None:
        return await self._one(SELECT_ANY_BY_ID if include_deleted else SELECT_BY_ID, client_id)

    async def get_by_email(self, email: str) -> Client | None:
        return await self._one(SELECT_BY_EMAIL, email)

    async def get_by_key_digest(self, digest: str) -> Client | None:
        return await self._one(SELECT_BY_DIGEST, digest)

    async def any_allows_origin(self, origin: str) -> bool:
        async with connection(self._pool) as conn:
            return bool(await conn.fetchval(ORIGIN_ALLOWED, origin))

    async def list_page(
        self, after: Cursor | None, limit: int, *, include_deleted: bool = False
    ) -> list[Client]:
        query = SELECT_PAGE[include_deleted, after is not None]
        cursor = () if after is None else (after.created_at, after.id)
        async with connection(self._pool) as conn:
            rows = await conn.fetch(query, limit, *cursor)
        return [client_of(row) for row in rows]
