"""Fixtures for Redis and the cache ports.

`redis_url` is a real Redis at FASTWRAP_TEST_REDIS_URL (default db 15 on localhost; any other db
is refused). Each test gets a clean slate as its own key prefix, `redis_namespace`, whose keys
are deleted afterwards: unlike a FLUSHDB per test, this stays correct when several test runs
(parallel CI jobs, pytest-xdist, developers) share one Redis.

`conversation_store` and `rate_limiter` run a contract test over the in-process adapter and the
Redis one. Both come with `advance(s)`: the in-process adapters read a ManualClock; for Redis,
which keeps its own time, advance() also shortens the TTL of each of the test's keys (and moves
rate-limit TATs back) by the same amount, so TTL tests run instantly.
tests/integration/test_redis_faults.py checks real expiry with real time.

`TcpProxy` stands between a client and Redis so a test can cut Redis off and bring it back.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit
from uuid import uuid4

import pytest
import redis
from redis.exceptions import RedisError

from fastwrap.adapters.memory.conversations import InMemoryConversationStore
from fastwrap.adapters.memory.rate_limit import InMemoryRateLimiter
from fastwrap.adapters.redis.client import connect
from fastwrap.adapters.redis.conversations import RedisConversationStore
from fastwrap.adapters.redis.rate_limit import RATE_KEYS, RedisRateLimiter
from fastwrap.ports.conversations import ConversationStore
from fastwrap.ports.rate_limit import RateLimiter
from tests.support.clock import ManualClock
from tests.support.services import integration, service_missing

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/15"
TEST_DB = 15
LOCK_WAIT_SECONDS = 0.5
LOCK_TTL_SECONDS = 5.0
MAX_MESSAGES = 10
BACKENDS = ["in-process", integration("redis")]

type Advance = Callable[[float], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class ConversationCase:
    store: ConversationStore
    clock: ManualClock
    advance: Advance
    backend: str


@dataclass(frozen=True, slots=True)
class RateCase:
    limiter: RateLimiter
    clock: ManualClock
    advance: Advance
    backend: str


def with_address(url: str, host: str, port: int) -> str:
    """The same Redis URL (scheme, credentials, db) pointed at another host and port."""
    parts = urlsplit(url)
    userinfo = parts.netloc.rpartition("@")[0]
    netloc = f"{userinfo}@{host}:{port}" if userinfo else f"{host}:{port}"
    return urlunsplit(parts._replace(netloc=netloc))


@pytest.fixture
def redis_url() -> str:
    url = os.environ.get("FASTWRAP_TEST_REDIS_URL", DEFAULT_REDIS_URL)
    with redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=2) as client:
        db = int(client.connection_pool.connection_kwargs.get("db", 0))
        if db != TEST_DB:
            service_missing(f"FASTWRAP_TEST_REDIS_URL must select db {TEST_DB}, kept for tests")
        try:
            client.ping()
        except (RedisError, OSError) as exc:
            service_missing(f"no Redis at FASTWRAP_TEST_REDIS_URL: {exc}")
    return url


@pytest.fixture
def redis_namespace(redis_url: str) -> Iterator[str]:
    """A key prefix of this test's own; its keys are deleted when the test ends."""
    namespace = f"fw-test-{uuid4().hex[:12]}:"
    try:
        yield namespace
    finally:
        with redis.Redis.from_url(redis_url) as client:
            for key in client.scan_iter(match=f"{namespace}*", count=500):
                client.delete(key)


def shift_redis_time(url: str, namespace: str, seconds: float) -> None:
    """Make `seconds` pass for a test's keys: shorter TTLs, earlier rate-limit TATs."""
    shift_ms = round(seconds * 1000)
    with redis.Redis.from_url(url, decode_responses=True) as client:
        for key in client.scan_iter(match=f"{namespace}*", count=500):
            pttl = int(client.pttl(key))
            if pttl < 0:
                continue
            if pttl <= shift_ms:
                client.delete(key)
            elif key.startswith(namespace + RATE_KEYS):
                tat = int(client.get(key) or 0) - round(seconds * 1_000_000)
                client.set(key, tat, px=pttl - shift_ms)
            else:
                client.pexpire(key, pttl - shift_ms)


def _memory_advance(clock: ManualClock) -> Advance:
    async def advance(seconds: float) -> None:
        clock.advance(seconds)

    return advance


def _redis_advance(clock: ManualClock, url: str, namespace: str) -> Advance:
    async def advance(seconds: float) -> None:
        clock.advance(seconds)
        shift_redis_time(url, namespace, seconds)

    return advance


@pytest.fixture(params=BACKENDS)
async def conversation_store(request: pytest.FixtureRequest) -> AsyncIterator[ConversationCase]:
    clock = ManualClock()
    if request.param == "in-process":
        store = InMemoryConversationStore(
            clock, lock_wait_seconds=LOCK_WAIT_SECONDS, max_messages=MAX_MESSAGES
        )
        yield ConversationCase(store, clock, _memory_advance(clock), "in-process")
        return
    url: str = request.getfixturevalue("redis_url")
    namespace: str = request.getfixturevalue("redis_namespace")
    client = connect(url)
    try:
        redis_store = RedisConversationStore(
            client,
            clock,
            lock_wait_seconds=LOCK_WAIT_SECONDS,
            lock_ttl_seconds=LOCK_TTL_SECONDS,
            max_messages=MAX_MESSAGES,
            key_prefix=namespace,
        )
        advance = _redis_advance(clock, url, namespace)
        yield ConversationCase(redis_store, clock, advance, "redis")
    finally:
        await client.aclose()


@pytest.fixture(params=BACKENDS)
async def rate_limiter(request: pytest.FixtureRequest) -> AsyncIterator[RateCase]:
    clock = ManualClock()
    if request.param == "in-process":
        yield RateCase(InMemoryRateLimiter(clock), clock, _memory_advance(clock), "in-process")
        return
    url: str = request.getfixturevalue("redis_url")
    namespace: str = request.getfixturevalue("redis_namespace")
    client = connect(url)
    try:
        limiter = RedisRateLimiter(client, key_prefix=namespace)
        yield RateCase(limiter, clock, _redis_advance(clock, url, namespace), "redis")
    finally:
        await client.aclose()


class _Exchange:
    """Whether the last bytes on one proxied connection went to the client (Redis answered)."""

    def __init__(self) -> None:
        self.answered = True


class TcpProxy:
    """Forwards 127.0.0.1:<port> to a target; stop() cuts every connection, start() resumes.

    `round_trips` counts request/reply exchanges over all connections: bytes from a client
    start a new one when Redis has answered since that client last sent. A pipeline is one,
    however the bytes are split into packets, since a client waits for the whole answer.
    """

    def __init__(self, target_host: str, target_port: int) -> None:
        self._target = (target_host, target_port)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.port = 0
        self.round_trips = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is None:
            return
        self._server.close()
        for writer in self._writers:
            writer.close()
        self._writers.clear()
        await self._server.wait_closed()
        self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self._target)
        except OSError:
            writer.close()
            return
        self._writers |= {writer, upstream_writer}
        exchange = _Exchange()

        def asked() -> None:
            if exchange.answered:
                self.round_trips += 1
                exchange.answered = False

        def answered() -> None:
            exchange.answered = True

        await asyncio.gather(
            self._pipe(reader, upstream_writer, asked),
            self._pipe(upstream_reader, writer, answered),
            return_exceptions=True,
        )

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, seen: Callable[[], None]
    ) -> None:
        with contextlib.suppress(OSError):
            while data := await reader.read(65536):
                seen()  # before forwarding: the other side may react at once
                writer.write(data)
                await writer.drain()
        writer.close()
        self._writers.discard(writer)


@pytest.fixture
async def redis_proxy(redis_url: str) -> AsyncIterator[tuple[TcpProxy, str]]:
    """A proxy in front of the test Redis, and the Redis URL that goes through it."""
    target = urlsplit(redis_url)
    proxy = TcpProxy(target.hostname or "127.0.0.1", target.port or 6379)
    await proxy.start()
    try:
        yield proxy, with_address(redis_url, "127.0.0.1", proxy.port)
    finally:
        await proxy.stop()
