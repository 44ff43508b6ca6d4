"""PostgreSQL reads the vectors the pool's codec sends as the same vectors it parses from text."""

from __future__ import annotations

import asyncpg
import numpy as np
import pytest

from fastwrap.adapters.postgres.pool import init_connection

pytestmark = pytest.mark.integration


@pytest.mark.filterwarnings("ignore:overflow encountered in cast:RuntimeWarning")
async def test_postgres_reads_encoded_vectors_as_their_text_form(pg_dsn: str) -> None:
    rng = np.random.default_rng(3)
    conn = await asyncpg.connect(pg_dsn)
    try:
        await init_connection(conn)
        for size in (1, 3, 1536):
            vector = tuple(float(x) for x in rng.standard_normal(size).astype(np.float32))
            text = "[" + ",".join(repr(x) for x in vector) + "]"
            same = await conn.fetchval("SELECT $1::vector = $2::text::vector", vector, text)
            assert same is True
            assert await conn.fetchval("SELECT $1::vector", vector) == vector
        with pytest.raises(asyncpg.DataError, match="infinite"):
            await conn.fetchval("SELECT $1::vector", (1.0, 1e300))
    finally:
        await conn.close()
