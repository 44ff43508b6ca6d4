"""REDIS_URL may name Sentinels: `redis+sentinel://host:port/service/db` follows the master they
elect. Checked against a real Redis and a real Sentinel started from the machine's redis-server."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

import pytest
import redis

from fastwrap.adapters.redis.live_state import open_redis_live_state
from fastwrap.domain.model import Message, RateLimit
from fastwrap.domain.rate_limits import RateCheck
from tests.support.clock import ManualClock
from tests.support.services import service_missing

pytestmark = pytest.mark.integration


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait(check: object, what: str) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            if check():  # type: ignore[operator]
                return
        except redis.RedisError:
            pass
        time.sleep(0.1)
    pytest.fail(f"{what} did not come up")


@pytest.fixture
def sentinel_url(tmp_path: Path) -> Iterator[str]:
    server = shutil.which("redis-server")
    if server is None:
        service_missing("redis-server is not installed")
    master_port, sentinel_port = _free_port(), _free_port()
    config = tmp_path / "sentinel.conf"
    config.write_text(
        f"port {sentinel_port}\nbind 127.0.0.1\n"
        f"sentinel monitor fwmaster 127.0.0.1 {master_port} 1\n"
    )
    common = ["--save", "", "--appendonly", "no", "--dir", str(tmp_path)]
    processes = [
        subprocess.Popen([server, "--port", str(master_port), "--bind", "127.0.0.1", *common]),
        subprocess.Popen([server, str(config), "--sentinel", "--dir", str(tmp_path)]),
    ]
    try:
        _wait(lambda: redis.Redis(port=master_port).ping(), "the Redis master")
        sentinel = redis.Redis(port=sentinel_port, decode_responses=True)
        _wait(lambda: sentinel.sentinel_get_master_addr_by_name("fwmaster"), "the Sentinel")
        yield f"redis+sentinel://127.0.0.1:{sentinel_port}/fwmaster/0"
    finally:
        for process in processes:
            process.kill()
            process.wait()


async def test_a_conversation_lives_on_the_master_the_sentinel_names(sentinel_url: str) -> None:
    clock = ManualClock()
    tenant, character = uuid4(), uuid4()
    now = datetime.now(UTC)
    turn = (
        Message(role="user", content="hello", created_at=now),
        Message(role="assistant", content="ahoy", created_at=now),
    )
    async with open_redis_live_state(
        sentinel_url, clock=clock, lock_wait_seconds=1, lock_ttl_seconds=5, max_messages=10
    ) as cache:
        assert (await cache.health.check()).ok
        async with cache.conversations.turn(tenant, "c1", 60) as held:
            assert held.conversation is None
            await held.commit(character, turn)  # a fresh master: the scripts get loaded
        stored = await cache.conversations.get(tenant, "c1")
        assert stored is not None
        assert [m.content for m in stored.messages] == ["hello", "ahoy"]
        budget = [RateCheck("k", "t", RateLimit(count=1, period=60))]
        decision = await cache.rate_limiter.hit_all(budget)
        assert decision.allowed
