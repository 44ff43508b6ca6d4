"""A chat turn's usage row is written while the turn is stored (recorder.py, `Acknowledging`):
a 201 still means the row is in PostgreSQL, and a turn whose row cannot be written is not
acknowledged. Real PostgreSQL (the ledger) and Redis (the conversations)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest

from tests.support.app import Tenant, app_client, hermetic_settings, make_character, sign_up

REFUSE = """
CREATE FUNCTION test_refuse_usage() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'usage refused' USING ERRCODE = 'query_canceled'; END $$;
CREATE TRIGGER test_refuse_usage BEFORE INSERT ON usage_records
FOR EACH ROW EXECUTE FUNCTION test_refuse_usage();
"""
ALLOW = "DROP TRIGGER test_refuse_usage ON usage_records; DROP FUNCTION test_refuse_usage();"


@pytest.fixture
async def api(
    pg_dsn: str, redis_url: str, redis_namespace: str
) -> AsyncIterator[httpx.AsyncClient]:
    settings = hermetic_settings(
        fastwrap_storage="postgres", database_url=pg_dsn,
        redis_url=redis_url, redis_key_prefix=redis_namespace,
    )  # fmt: skip
    async with app_client(settings) as client:
        yield client


async def sql(dsn: str, statement: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        if statement.lstrip().upper().startswith("SELECT"):
            return int(await conn.fetchval(statement))
        await conn.execute(statement)
        return 0
    finally:
        await conn.close()


async def turn(
    api: httpx.AsyncClient, tenant: Tenant, cid: str, conversation: str
) -> httpx.Response:
    body = {"character_id": cid, "content": "hello there", "conversation_id": conversation}
    return await api.post("/api/chat", json=body, headers=tenant.headers)


async def test_every_acknowledged_turn_has_its_row_when_it_is_answered(
    api: httpx.AsyncClient, pg_dsn: str
) -> None:
    alice = await sign_up(api, "alice@example.com")
    cid = await make_character(api, alice)

    answers = await asyncio.gather(*(turn(api, alice, cid, f"c{n}") for n in range(8)))

    assert [a.status_code for a in answers] == [201] * 8
    assert await sql(pg_dsn, "SELECT count(*) FROM usage_records") == 8


async def test_a_turn_whose_row_cannot_be_written_is_not_acknowledged(
    api: httpx.AsyncClient, pg_dsn: str
) -> None:
    alice = await sign_up(api, "alice@example.com")
    cid = await make_character(api, alice)
    first = await turn(api, alice, cid, "c1")
    assert first.status_code == 201

    await sql(pg_dsn, REFUSE)
    refused = await turn(api, alice, cid, "c1")
    await sql(pg_dsn, ALLOW)
    last = await turn(api, alice, cid, "c1")

    assert refused.status_code == 503, refused.text
    assert last.status_code == 201
    # Only the acknowledged turns have rows; both are in the conversation. (The refused turn's
    # store ran alongside its write, so the conversation may hold it too: it is a turn its
    # client was told failed, never one it was told succeeded.)
    assert await sql(pg_dsn, "SELECT count(*) FROM usage_records") == 2
    history = await api.get("/api/conversations/c1", headers=alice.headers)
    replies = [m["content"] for m in history.json()["data"]["messages"] if m["role"] == "assistant"]
    for answer in (first, last):
        assert answer.json()["data"]["reply"]["content"] in replies


async def v1_chat(api: httpx.AsyncClient, tenant: Tenant, cid: str) -> httpx.Response:
    body = {"model": cid, "messages": [{"role": "user", "content": "hi"}], "conversation": "v1"}
    return await api.post("/v1/chat/completions", json=body, headers=tenant.headers)


async def v1_response(api: httpx.AsyncClient, tenant: Tenant, cid: str) -> httpx.Response:
    body = {"model": cid, "input": "hi"}
    return await api.post("/v1/responses", json=body, headers=tenant.headers)


@pytest.mark.parametrize("ask", [v1_chat, v1_response])
async def test_a_stored_v1_turn_is_answered_only_once_its_row_is_written(
    api: httpx.AsyncClient, pg_dsn: str, ask: Any
) -> None:
    alice = await sign_up(api, "alice@example.com")
    cid = await make_character(api, alice)

    await sql(pg_dsn, REFUSE)
    refused = await ask(api, alice, cid)
    await sql(pg_dsn, ALLOW)
    answered = await ask(api, alice, cid)

    assert refused.status_code == 503, refused.text
    assert answered.status_code == 200, answered.text
    assert await sql(pg_dsn, "SELECT count(*) FROM usage_records") == 1
