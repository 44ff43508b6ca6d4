"""`POST /api/vectors/import` (SPEC §15): streamed NDJSON, all-or-nothing, line numbers in errors.

EMBEDDING_DIM is 8 here, so 100,000 pre-embedded lines are cheap to make and to send.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest

from tests.support.app import Tenant, app_client, hermetic_settings, sign_up

DIM = 8
NDJSON = {"content-type": "application/x-ndjson"}


@pytest.fixture
def pg_embedding_dim() -> int:
    return DIM


@pytest.fixture(params=["memory", pytest.param("postgres", marks=pytest.mark.integration)])
async def api(request: pytest.FixtureRequest) -> AsyncIterator[httpx.AsyncClient]:
    options: dict[str, Any] = {"embedding_dim": DIM, "import_max_bytes": 64 * 1024 * 1024}
    if request.param == "postgres":
        options |= {
            "fastwrap_storage": "postgres",
            "database_url": request.getfixturevalue("pg_dsn"),
        }
    async with app_client(hermetic_settings(**options)) as client:
        yield client


@pytest.fixture
async def alice(api: httpx.AsyncClient) -> Tenant:
    return await sign_up(api, "alice@example.com")


def vector(n: int) -> list[float]:
    return [1.0, (n % 97) / 97, (n % 89) / 89, (n % 83) / 83, 0.5, -0.5, n / 100_000, 0.25]


def line(n: int, **extra: Any) -> bytes:
    row = {"entity_type": "doc", "entity_id": f"e{n}", "content": f"row number{n} text"}
    return json.dumps({**row, "embedding": vector(n), **extra}).encode()


async def post(api: httpx.AsyncClient, tenant: Tenant, body: bytes) -> httpx.Response:
    headers = {**tenant.headers, **NDJSON}
    return await api.post("/api/vectors/import", content=body, headers=headers, timeout=600)


async def keyword(api: httpx.AsyncClient, tenant: Tenant, word: str) -> list[str]:
    body = {"query": word, "mode": "keyword", "top_k": 5}
    response = await api.post("/api/vectors/search", json=body, headers=tenant.headers)
    assert response.status_code == 200, response.text
    return [hit["entity_id"] for hit in response.json()["data"]]


async def test_100k_pre_embedded_lines_arrive_in_one_import(
    api: httpx.AsyncClient, alice: Tenant
) -> None:
    # On PostgreSQL the rows are published without their HNSW inserts (the graph workers run
    # them afterwards), so all 100,000 are stored in seconds, and found at once.
    count = 100_000
    body = b"\n".join(line(n) for n in range(count)) + b"\n"

    response = await post(api, alice, body)

    assert response.status_code == 201, response.text
    assert response.json()["data"] == {"imported": count, "embedded": 0}
    assert await keyword(api, alice, f"number{count - 1}") == [f"e{count - 1}"]
    assert await keyword(api, alice, "number0") == ["e0"]


@pytest.mark.integration
async def test_the_served_app_indexes_an_import_in_the_background(pg_dsn: str) -> None:
    options = {"embedding_dim": DIM, "fastwrap_storage": "postgres", "database_url": pg_dsn}
    async with app_client(hermetic_settings(**options)) as api:
        alice = await sign_up(api, "alice@example.com")
        body = b"\n".join(line(n) for n in range(500))
        assert (await post(api, alice, body)).status_code == 201
        assert await keyword(api, alice, "number499") == ["e499"]  # stored when the import returns
        conn = await asyncpg.connect(pg_dsn)
        try:
            async with asyncio.timeout(60):  # a bound against a hang, not a measurement
                while await conn.fetchval(WAITING):
                    await asyncio.sleep(0.05)
            assert await conn.fetchval("SELECT count(*) FROM embeddings") == 500
        finally:
            await conn.close()
        assert await keyword(api, alice, "number499") == ["e499"]


WAITING = "SELECT count(*) FROM embeddings WHERE deleted_at IS NULL AND graph_pending"


async def test_a_bad_line_99999_refuses_all_100k(api: httpx.AsyncClient, alice: Tenant) -> None:
    lines = [line(n) for n in range(100_000)]
    lines[99_998] = json.dumps({**json.loads(lines[99_998]), "embedding": [0.5] * 7}).encode()

    response = await post(api, alice, b"\n".join(lines))

    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert detail.startswith("line 99999: 'embedding' must be a list of 8 numbers")
    assert "nothing was imported" in detail
    assert await keyword(api, alice, "number0") == []


async def test_lines_without_an_embedding_are_embedded_and_replace_as_upserts_do(
    api: httpx.AsyncClient, alice: Tenant
) -> None:
    first = b"\n".join([line(1), line(2, embedding=None), b"", line(3, embedding=None)])
    response = await post(api, alice, first)
    assert response.json()["data"] == {"imported": 3, "embedded": 2}

    again = line(2, content="changed words here", metadata={"v": 2})
    response = await post(api, alice, again)

    assert response.status_code == 201, response.text
    assert await keyword(api, alice, "changed") == ["e2"]
    assert await keyword(api, alice, "number2") == []


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (b'{"entity_type": "doc", "entity_id": "x", "content": "a\\u0000b"}', "NUL"),
        (
            b'{"entity_type": "doc", "entity_id": "x", "content": "a", "metadata": {"n": NaN}}',
            "NaN",
        ),
        (line(5, embedding=[1.0] * 7 + [float("inf")]), "Infinity"),
        (b"{oops", "not valid JSON"),
        (line(0), "doc/e0 already appears on line 1"),
    ],
)  # fmt: skip
async def test_a_bad_line_names_its_number_and_stores_nothing(
    api: httpx.AsyncClient, alice: Tenant, bad: bytes, reason: str
) -> None:
    response = await post(api, alice, line(0) + b"\n" + bad)

    assert response.status_code == 422, response.text
    assert response.json()["detail"].startswith("line 2: ")
    assert reason in response.json()["detail"]
    assert await keyword(api, alice, "number0") == []


async def test_an_empty_or_oversized_import_is_refused(
    api: httpx.AsyncClient, alice: Tenant
) -> None:
    assert (await post(api, alice, b"\n\n")).status_code == 422
    huge = b"\n".join(line(n) for n in range(420_000))  # over the 64 MiB limit of this app
    response = await post(api, alice, huge)
    assert response.status_code == 413
    assert await keyword(api, alice, "number0") == []
