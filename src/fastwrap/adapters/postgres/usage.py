"""The usage ledger in PostgreSQL: a batch of records is one INSERT (one round trip, one
commit), and a record already stored is skipped by its id.

Writes go through a pool of their own (`writes`), whose sessions may commit without waiting for
the WAL flush (`synchronous_commit = off`, USAGE_SYNCHRONOUS_COMMIT=false, the default): a
committed row is in PostgreSQL, visible and safe from any crash of FastWrap, and only a crash of
PostgreSQL itself within the WAL writer's delay (~0.6 s) could lose it. On a disk that takes
milliseconds to flush, that wait was most of what a turn at one connection paid for its row.
The recorder writes one batch at a time, so the pool needs one connection or two.
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

import asyncpg

from fastwrap.adapters.postgres.pool import connection
from fastwrap.domain.usage import GroupBy, UsageQuery, UsageRecord, UsageRow
from fastwrap.ports.usage import UsageLedger

COLUMNS = """
    id, client_id, key_id, character_id, end_user, model,
    input_tokens, output_tokens, estimated, latency_ms, outcome, created_at
"""
# One record (every write at one turn at a time): plain parameters encode faster than arrays.
INSERT_ONE = f"""
INSERT INTO usage_records ({COLUMNS})
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
ON CONFLICT (id) DO NOTHING
"""
INSERT = f"""
INSERT INTO usage_records ({COLUMNS})
SELECT * FROM unnest(
    $1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::text[], $6::text[],
    $7::integer[], $8::integer[], $9::boolean[], $10::integer[], $11::text[], $12::timestamptz[]
)
ON CONFLICT (id) DO NOTHING
"""
# Each group's value as text ('' for none), in byte order so pages follow one another.
GROUP_EXPRESSIONS: dict[GroupBy, str] = {
    "day": "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')",
    "character": "COALESCE(character_id::text, '')",
    "end_user": "COALESCE(end_user, '')",
    "key": "COALESCE(key_id::text, '')",
    "model": "model",
}
REPORT = """
SELECT g, count(*) AS requests, count(*) FILTER (WHERE outcome <> 'ok') AS failed,
    COALESCE(sum(input_tokens), 0) AS input_tokens,
    COALESCE(sum(output_tokens), 0) AS output_tokens, bool_or(estimated) AS estimated
FROM (
    SELECT {expression} COLLATE "C" AS g, outcome, input_tokens, output_tokens, estimated
    FROM usage_records
    WHERE ($1::uuid IS NULL OR client_id = $1) AND created_at >= $2 AND created_at < $3
        AND deleted_at IS NULL
) AS calls
WHERE $4::text IS NULL OR g > $4
GROUP BY g ORDER BY g LIMIT $5
"""
REPORTS = {group: REPORT.format(expression=e) for group, e in GROUP_EXPRESSIONS.items()}
# An erasure request: the calls stay counted, as no one's (deleted rows too).
ANONYMISE = "UPDATE usage_records SET end_user = NULL WHERE client_id = $1 AND end_user = $2"


def _values(r: UsageRecord) -> tuple[object, ...]:
    return (
        *(r.id, r.client_id, r.key_id, r.character_id, r.end_user, r.model),
        *(r.input_tokens, r.output_tokens, r.estimated, r.latency_ms, r.outcome, r.created_at),
    )


def _columns(records: Sequence[UsageRecord]) -> list[list[object]]:
    return [
        [r.id for r in records],
        [r.client_id for r in records],
        [r.key_id for r in records],
        [r.character_id for r in records],
        [r.end_user for r in records],
        [r.model for r in records],
        [r.input_tokens for r in records],
        [r.output_tokens for r in records],
        [r.estimated for r in records],
        [r.latency_ms for r in records],
        [r.outcome for r in records],
        [r.created_at for r in records],
    ]


class PgUsageLedger(UsageLedger):
    def __init__(self, pool: asyncpg.Pool, writes: asyncpg.Pool | None = None) -> None:
        self._pool = pool
        self._writes = writes or pool

    async def record(self, records: Sequence[UsageRecord]) -> None:
        if not records:
            return
        async with connection(self._writes) as conn:
            if len(records) == 1:
                await conn.execute(INSERT_ONE, *_values(records[0]))
            else:
                await conn.execute(INSERT, *_columns(records))

    async def report(self, query: UsageQuery) -> list[UsageRow]:
        q = query
        async with connection(self._pool) as conn:
            rows = await conn.fetch(
                REPORTS[q.group_by], q.client_id, q.since, q.until, q.after, q.limit + 1
            )
        return [
            UsageRow(
                group=row["g"] or None,
                requests=row["requests"],
                failed=row["failed"],
                input_tokens=row["input_tokens"],
                output_tokens=row["output_tokens"],
                estimated=bool(row["estimated"]),
            )
            for row in rows
        ]

    async def anonymise(self, client_id: UUID, end_user: str) -> int:
        async with connection(self._pool) as conn:
            status = await conn.execute(ANONYMISE, client_id, end_user)
        return int(status.split()[-1])
