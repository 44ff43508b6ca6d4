"""FastWrap is SIGKILLed after acknowledging a turn, before its memory was embedded: the turn's
memory item is already in PostgreSQL (the outbox), and after a restart the worker embeds it
and a later conversation of the same end user recalls it (SPEC §15)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from tests.resilience.fastwrap_process import FastWrapProcess
from tests.resilience.test_process_kill import server_env
from tests.support.app import make_character, sign_up
from tests.support.openai_stub import OpenAIStub

pytestmark = pytest.mark.integration

MEMORY = {"enabled": True, "top_k": 4, "min_score": -1.0, "scope": "end_user"}


async def stored_items(dsn: str) -> list[dict[str, Any]]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT end_user, conversation_id, embedding IS NOT NULL AS embedded FROM memory_items"
        )
    finally:
        await conn.close()
    return [dict(row) for row in rows]


async def test_an_acknowledged_turns_memory_survives_sigkill(
    pg_dsn: str, tmp_path: Path, openai_stub: OpenAIStub
) -> None:
    env = server_env(pg_dsn, tmp_path) | {
        "EMBEDDING_BASE_URL": openai_stub.base_url, "EMBEDDING_KEY": "sk-test-embedding-key",
        "JOB_LEASE_SECONDS": "2", "JOB_POLL_SECONDS": "0.2",
    }  # fmt: skip
    # The turn's own recall embeds its question (request 1); the worker's embedding of the
    # turn (request 2) is held, so the process dies before its memory is embedded.
    gate = openai_stub.hold_embeddings(1)
    server = FastWrapProcess(tmp_path, env)
    try:
        await asyncio.to_thread(server.start)
        async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as api:
            tenant = await sign_up(api, "memory@example.com")
            character = await make_character(api, tenant, memory=MEMORY)
            body = {
                "character_id": character, "content": "My dog is called Rex",
                "end_user": "ann", "conversation_id": "a1",
            }  # fmt: skip
            told = await api.post("/api/chat", json=body, headers=tenant.headers)
            assert told.status_code == 201, told.text
            async with asyncio.timeout(10):  # the worker has taken the batch and is embedding
                while len(openai_stub.requests_to("/v1/embeddings")) < 2:
                    await asyncio.sleep(0.02)
        assert await stored_items(pg_dsn) == [
            {"end_user": "ann", "conversation_id": "a1", "embedded": False}
        ]
        await asyncio.to_thread(server.kill)
        gate.set()

        await asyncio.to_thread(server.start)  # its worker takes the batch once the lease ran out
        async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as api:
            async with asyncio.timeout(30):
                while not (await stored_items(pg_dsn))[0]["embedded"]:
                    await asyncio.sleep(0.1)
            body = {
                "character_id": character, "content": "What is my dog called?",
                "end_user": "ann", "conversation_id": "a2",
            }  # fmt: skip
            asked = await api.post("/api/chat", json=body, headers=tenant.headers)
            assert asked.status_code == 201, asked.text
            [memory] = asked.json()["data"]["memories"]
            assert memory["conversation_id"] == "a1"
            assert "Rex" in memory["content"]
    finally:
        gate.set()
        await asyncio.to_thread(server.stop)
