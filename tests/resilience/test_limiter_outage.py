"""Redis down under the rate limiter: requests go through (fail open), and the log says so once
per outage and once when Redis is back, not once per request. /health, which anyone may read,
says what is down but not where it lives (no host, no port): the log has the address.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator

import asyncpg
import httpx
import pytest

from fastwrap.adapters.postgres.storage import PgHealthProbe
from tests.support.app import app_client, hermetic_settings, make_character, sign_up
from tests.support.redis import TcpProxy

pytestmark = pytest.mark.integration

RECOVERY_SECONDS = 10.0


class Collected(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())

    def lines(self, text: str) -> list[str]:
        return [message for message in self.messages if text in message]


@pytest.fixture
def warnings_logged() -> Iterator[Collected]:
    """Warnings of fastwrap's loggers, collected on the logger itself (configure_logging stops
    `fastwrap` from propagating to the root, where caplog listens)."""
    logger = logging.getLogger("fastwrap")
    level, handler = logger.level, Collected()
    logger.setLevel(logging.WARNING)
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


async def limited_again(api: httpx.AsyncClient, headers: dict[str, str]) -> None:
    """Requests until one is counted again: Redis answers the limiter once more."""
    async with asyncio.timeout(RECOVERY_SECONDS):
        while "ratelimit-limit" not in (await api.get("/api/characters", headers=headers)).headers:
            await asyncio.sleep(0.05)


async def test_an_outage_is_logged_once_and_its_end_once(
    redis_proxy: tuple[TcpProxy, str],
    redis_namespace: str,
    warnings_logged: Collected,
) -> None:
    proxy, url = redis_proxy
    settings = hermetic_settings(
        redis_url=url, redis_key_prefix=redis_namespace, rate_limit_enabled=True
    )
    async with app_client(settings) as api:
        alice = await sign_up(api, "alice@example.com")
        await proxy.stop()
        for _ in range(20):
            through = await api.get("/api/characters", headers=alice.headers)
            assert through.status_code == 200  # failing open
            assert "ratelimit-limit" not in through.headers
        for _ in range(2):
            await proxy.start()
            await limited_again(api, alice.headers)
            await proxy.stop()
            for _ in range(5):
                assert (await api.get("/api/characters", headers=alice.headers)).status_code == 200
        await proxy.start()
        await limited_again(api, alice.headers)

    down = warnings_logged.lines("rate limiter unavailable")
    assert len(down) == 3, down  # three outages, however many requests each saw
    assert str(proxy.port) in down[0]  # the log names the address, for operators
    assert len(warnings_logged.lines("rate limiter answers again")) == 3


async def test_health_says_what_is_down_never_where(
    redis_proxy: tuple[TcpProxy, str],
    redis_namespace: str,
    warnings_logged: Collected,
) -> None:
    proxy, url = redis_proxy
    settings = hermetic_settings(redis_url=url, redis_key_prefix=redis_namespace)
    async with app_client(settings) as api:
        await proxy.stop()
        for _ in range(3):
            down = await api.get("/health")
            assert down.status_code == 503
            redis = down.json()["checks"]["redis"]
            assert redis["status"] == "down"
            assert redis["detail"]
            assert "127.0.0.1" not in down.text
            assert str(proxy.port) not in down.text
        await proxy.start()

    logged = warnings_logged.lines("Redis (health check) unavailable")
    assert len(logged) == 1
    assert str(proxy.port) in logged[0]


async def test_the_database_health_detail_names_no_address(unused_tcp_port: int) -> None:
    dsn = f"postgresql://fastwrap@127.0.0.1:{unused_tcp_port}/fastwrap"
    pool = await asyncpg.create_pool(dsn, min_size=0, max_size=1)
    try:
        status = await PgHealthProbe(pool, "postgres").check()
    finally:
        await pool.close()

    assert not status.ok
    assert status.detail
    assert "127.0.0.1" not in status.detail
    assert str(unused_tcp_port) not in status.detail


async def test_the_conversation_stores_outage_is_logged_once_and_its_end_once(
    redis_proxy: tuple[TcpProxy, str],
    redis_namespace: str,
    warnings_logged: Collected,
) -> None:
    proxy, url = redis_proxy
    settings = hermetic_settings(redis_url=url, redis_key_prefix=redis_namespace)
    async with app_client(settings) as api:
        alice = await sign_up(api, "alice@example.com")
        cid = await make_character(api, alice)
        body = {"character_id": cid, "content": "hi", "conversation_id": "c"}
        await proxy.stop()
        for _ in range(10):
            refused = await api.post("/api/chat", json=body, headers=alice.headers)
            assert refused.status_code == 503
        await proxy.start()
        async with asyncio.timeout(RECOVERY_SECONDS):
            while (
                await api.post("/api/chat", json=body, headers=alice.headers)
            ).status_code != 201:
                await asyncio.sleep(0.05)

    assert len(warnings_logged.lines("conversation store unavailable")) == 1
    assert len(warnings_logged.lines("conversation store answers again")) == 1
