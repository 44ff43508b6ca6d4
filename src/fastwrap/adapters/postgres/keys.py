"""Named keys and end-user tokens in PostgreSQL. Each lookup by digest is one indexed query that
also checks what the credential depends on (its client, character, issuing key), so a cached
answer only has to be dropped when one of those rows changes: the change notices say when."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import cast
from uuid import UUID

import asyncpg

from fastwrap.adapters.postgres.clients import READ_COLUMNS, client_of
from fastwrap.adapters.postgres.pool import connection
from fastwrap.domain.key_usage import COALESCE
from fastwrap.domain.keys import ApiKey, EndUserToken, KeyGrant, Scope, TokenGrant
from fastwrap.ports.keys import EndUserTokenStore, KeyStore

KEY_COLUMNS = "id, client_id, name, prefix, digest, scopes, created_at, expires_at, last_used_at"
INSERT_KEY = f"INSERT INTO api_keys ({KEY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
SELECT_KEYS = f"""
SELECT {KEY_COLUMNS} FROM api_keys WHERE client_id = $1 AND deleted_at IS NULL
ORDER BY created_at, id
"""
REVOKE = """
UPDATE api_keys SET deleted_at = $3 WHERE id = $2 AND client_id = $1 AND deleted_at IS NULL
"""
_CLIENT = ", ".join(f"c.{name.strip()}" for name in READ_COLUMNS.split(","))
_KEY_NAMES = [name.strip() for name in KEY_COLUMNS.split(",")]
_KEY = ", ".join(f"k.{name} AS apikey_{name}" for name in _KEY_NAMES)
_KEY_TYPES = ("uuid", "uuid", "text", "text", "text", "text[]", *["timestamptz"] * 3)
_NO_KEY = ", ".join(f"NULL::{t} AS apikey_{n}" for n, t in zip(_KEY_NAMES, _KEY_TYPES, strict=True))
# The primary key (on the client row) or a named key: one query either way.
FIND_KEY = f"""
SELECT {_CLIENT}, {_NO_KEY} FROM clients c
WHERE c.key_digest = $1 AND c.deleted_at IS NULL
UNION ALL
SELECT {_CLIENT}, {_KEY} FROM api_keys k JOIN clients c ON c.id = k.client_id
WHERE k.digest = $1 AND k.deleted_at IS NULL AND c.deleted_at IS NULL
LIMIT 1
"""
# Moves forward by a minute or more, or not at all (and then writes nothing).
TOUCH = """
UPDATE api_keys k SET last_used_at = u.at
FROM unnest($1::uuid[], $2::timestamptz[]) AS u(id, at)
WHERE k.id = u.id AND (k.last_used_at IS NULL OR k.last_used_at <= u.at - $3::interval)
"""
TOKEN_COLUMNS = (
    "id, client_id, digest, character_id, end_user, conversation_id, key_id, issuer_digest,"
    " created_at, expires_at"
)
INSERT_TOKEN = (
    f"INSERT INTO end_user_tokens ({TOKEN_COLUMNS})"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
)
_TOKEN = ", ".join(f"t.{n.strip()} AS token_{n.strip()}" for n in TOKEN_COLUMNS.split(","))
FIND_TOKEN = f"""
SELECT {_CLIENT}, {_TOKEN}
FROM end_user_tokens t
JOIN clients c ON c.id = t.client_id AND c.deleted_at IS NULL
JOIN characters ch ON ch.id = t.character_id AND ch.deleted_at IS NULL
LEFT JOIN api_keys k ON k.id = t.key_id
WHERE t.digest = $1 AND t.deleted_at IS NULL
    AND CASE WHEN t.key_id IS NULL THEN c.key_digest = t.issuer_digest
             ELSE k.deleted_at IS NULL END
"""


def _key(row: asyncpg.Record, prefix: str = "") -> ApiKey:
    return ApiKey(
        id=row[f"{prefix}id"],
        client_id=row[f"{prefix}client_id"],
        name=row[f"{prefix}name"],
        prefix=row[f"{prefix}prefix"],
        digest=row[f"{prefix}digest"],
        scopes=frozenset(cast(list[Scope], row[f"{prefix}scopes"])),
        created_at=row[f"{prefix}created_at"],
        expires_at=row[f"{prefix}expires_at"],
        last_used_at=row[f"{prefix}last_used_at"],
    )


def _token(row: asyncpg.Record) -> EndUserToken:
    return EndUserToken(
        id=row["token_id"],
        client_id=row["token_client_id"],
        digest=row["token_digest"],
        character_id=row["token_character_id"],
        end_user=row["token_end_user"],
        conversation_id=row["token_conversation_id"],
        key_id=row["token_key_id"],
        issuer_digest=row["token_issuer_digest"],
        created_at=row["token_created_at"],
        expires_at=row["token_expires_at"],
    )


class PgKeyStore(KeyStore):
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def add(self, key: ApiKey) -> None:
        k = key
        scopes = sorted(k.scopes)
        async with connection(self._pool) as conn:
            await conn.execute(
                INSERT_KEY,
                *(k.id, k.client_id, k.name, k.prefix, k.digest, scopes),
                *(k.created_at, k.expires_at, k.last_used_at),
            )

    async def list(self, client_id: UUID) -> list[ApiKey]:
        async with connection(self._pool) as conn:
            rows = await conn.fetch(SELECT_KEYS, client_id)
        return [_key(row) for row in rows]

    async def revoke(self, client_id: UUID, key_id: UUID, at: datetime) -> bool:
        async with connection(self._pool) as conn:
            status = await conn.execute(REVOKE, client_id, key_id, at)
        return bool(status == "UPDATE 1")

    async def find(self, digest: str) -> KeyGrant | None:
        async with connection(self._pool) as conn:
            row = await conn.fetchrow(FIND_KEY, digest)
        if row is None:
            return None
        key = _key(row, "apikey_") if row["apikey_id"] is not None else None
        return KeyGrant(client=client_of(row), key=key)

    async def touch(self, used: Mapping[UUID, datetime]) -> None:
        ids, moments = list(used), list(used.values())
        async with connection(self._pool) as conn:
            await conn.execute(TOUCH, ids, moments, COALESCE)


class PgEndUserTokenStore(EndUserTokenStore):
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def add(self, token: EndUserToken) -> None:
        t = token
        async with connection(self._pool) as conn:
            await conn.execute(
                INSERT_TOKEN,
                *(t.id, t.client_id, t.digest, t.character_id, t.end_user, t.conversation_id),
                *(t.key_id, t.issuer_digest, t.created_at, t.expires_at),
            )

    async def find(self, digest: str) -> TokenGrant | None:
        async with connection(self._pool) as conn:
            row = await conn.fetchrow(FIND_TOKEN, digest)
        if row is None:
            return None
        return TokenGrant(client=client_of(row), token=_token(row))
