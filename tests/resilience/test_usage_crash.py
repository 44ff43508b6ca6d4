"""FastWrap is SIGKILLed during a burst of chat turns: after a restart, the usage of every
turn it acknowledged (201) is in the ledger, and no call is counted twice (SPEC §13)."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import asyncpg
import httpx
import pytest

from tests.resilience.fastwrap_process import FastWrapProcess
from tests.resilience.test_process_kill import server_env
from tests.support.app import make_character, sign_up
from tests.support.openai_stub import OpenAIStub

pytestmark = pytest.mark.integration

WORKERS = 12


class TurnBurst:
    """`WORKERS` clients sending turns back to back, each turn for an end user of its own, so
    that the ledger row of every acknowledged turn can be told apart."""

    def __init__(self, api: httpx.AsyncClient, key: str, character_id: str) -> None:
        self._api = api
        self._headers = {"x-api-key": key}
        self._character_id = character_id
        self.acknowledged: list[str] = []
        self.outcomes: Counter[str] = Counter()
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._worker(n)) for n in range(WORKERS)]

    async def _worker(self, worker: int) -> None:
        n = 0
        while not self._stop.is_set():
            n += 1
            end_user = f"w{worker}-{n}"
            body = {"character_id": self._character_id, "content": "hi", "end_user": end_user}
            try:
                response = await self._api.post("/api/chat", json=body, headers=self._headers)
            except httpx.TransportError as exc:
                self.outcomes[type(exc).__name__] += 1
                await asyncio.sleep(0.02)
                continue
            self.outcomes[str(response.status_code)] += 1
            if response.status_code == 201:
                self.acknowledged.append(end_user)

    async def until(self, acknowledged: int) -> None:
        async with asyncio.timeout(60):
            while len(self.acknowledged) < acknowledged:
                await asyncio.sleep(0.005)

    async def stop(self) -> None:
        self._stop.set()
        await asyncio.gather(*self._tasks)


async def ledger_rows(dsn: str) -> Counter[str]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT end_user, outcome FROM usage_records")
    finally:
        await conn.close()
    return Counter(row["end_user"] for row in rows if row["outcome"] == "ok")


async def test_every_acknowledged_turns_usage_survives_sigkill(
    pg_dsn: str, tmp_path: Path, openai_stub: OpenAIStub
) -> None:
    env = server_env(pg_dsn, tmp_path) | {
        "MODEL": "gpt-4o-mini",
        "MODEL_KEY": "sk-test-secret-key-123",
        "MODEL_BASE_URL": openai_stub.base_url,
        "MODEL_MAX_RETRIES": "0",
    }
    openai_stub.set_usage(50, 5)
    openai_stub.set_delay(0.01)  # turns overlap: some are always in flight
    server = FastWrapProcess(tmp_path, env)
    try:
        await asyncio.to_thread(server.start)
        async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as api:
            tenant = await sign_up(api, "alice@example.com")
            cid = await make_character(api, tenant)
            burst = TurnBurst(api, tenant.key, cid)
            burst.start()
            try:
                await burst.until(acknowledged=150)
                await asyncio.to_thread(server.kill)  # turns are mid-flight
            finally:
                await burst.stop()
        calls = len(openai_stub.requests_to("/v1/chat/completions"))
        print(  # the figures the closing note reports (pytest -s)
            f"\nSIGKILL during a burst: {len(burst.acknowledged)} turns acknowledged, "
            f"{calls} model calls made; outcomes {dict(burst.outcomes)}"
        )

        await asyncio.to_thread(server.start)  # the restart migrates and serves again
        recorded = await ledger_rows(pg_dsn)
        missing = [u for u in burst.acknowledged if recorded[u] == 0]
        assert missing == [], f"{len(missing)} acknowledged turns have no usage row"
        assert max(recorded.values()) == 1, "a call was counted twice"
        assert sum(recorded.values()) <= calls  # no row without a model call behind it
        print(f"after restart: {sum(recorded.values())} ok rows, none missing, none twice")
        async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as api:
            report = await api.get("/api/usage", headers={"x-api-key": tenant.key})
            [row] = report.json()["data"]["items"]
            assert row["input_tokens"] == 50 * row["requests"]
    finally:
        await asyncio.to_thread(server.stop)
