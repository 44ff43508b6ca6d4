"""A large document's job survives its server being SIGKILLed mid-job: after a restart the
job is taken over (its lease ran out) and completes, with every chunk stored once."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.resilience.fastwrap_process import FastWrapProcess
from tests.resilience.test_process_kill import server_env
from tests.support.app import STRONG_PASSWORD
from tests.support.openai_stub import OpenAIStub

pytestmark = pytest.mark.integration

PARAGRAPHS = 240  # one chunk each at chunk_size 200: three embedding requests of 100


async def job_until(
    api: httpx.AsyncClient, path: str, done: Any, seconds: float = 60
) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while True:
        job: dict[str, Any] = (await api.get(path)).json()["data"]
        if done(job) or time.monotonic() > deadline:
            return job
        await asyncio.sleep(0.1)


async def test_a_job_cut_off_by_sigkill_completes_after_a_restart(
    pg_dsn: str, tmp_path: Path, openai_stub: OpenAIStub
) -> None:
    env = server_env(pg_dsn, tmp_path) | {
        "EMBEDDING_BASE_URL": openai_stub.base_url, "EMBEDDING_KEY": "sk-test-embedding-key",
        "DOCUMENT_INLINE_MAX_BYTES": "1024", "JOB_LEASE_SECONDS": "2", "JOB_POLL_SECONDS": "0.2",
    }  # fmt: skip
    gate = openai_stub.hold_embeddings(1)
    server = FastWrapProcess(tmp_path, env)
    text = "\n\n".join(f"paragraph{n} " + "filler " * 20 for n in range(PARAGRAPHS))
    try:
        await asyncio.to_thread(server.start)
        async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as api:
            signup = {"email": "docs@example.com", "password": STRONG_PASSWORD}
            key = (await api.post("/auth/signup", json=signup)).json()["data"]["api_key"]
            api.headers["x-api-key"] = key
            body = {"entity_type": "guide", "document_id": "big", "content": text,
                    "chunk_size": 200, "chunk_overlap": 0}  # fmt: skip
            response = await api.post("/api/documents", json=body)
            assert response.status_code == 202, response.text
            path = response.headers["location"]
            job = await job_until(api, path, lambda j: j["progress"]["done"] >= 100)
            assert (job["status"], job["progress"]["done"]) == ("running", 100), job
        await asyncio.to_thread(server.kill)  # mid-job: the second batch is being embedded
        gate.set()

        await asyncio.to_thread(server.start)
        async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as api:
            api.headers["x-api-key"] = key
            job = await job_until(api, path, lambda j: j["status"] in ("succeeded", "failed"))
            assert job["status"] == "succeeded", job.get("error")
            assert job["attempts"] == 2
            assert job["progress"] == {"done": PARAGRAPHS, "total": PARAGRAPHS}
            search = {"query": "filler", "mode": "keyword", "top_k": 50}
            hits = (await api.post("/api/vectors/search", json=search)).json()["data"]
            assert len({h["entity_id"] for h in hits}) == 50
            [document] = (await api.get("/api/documents")).json()["data"]["items"]
            assert document["chunks"] == PARAGRAPHS
    finally:
        gate.set()
        await asyncio.to_thread(server.stop)
