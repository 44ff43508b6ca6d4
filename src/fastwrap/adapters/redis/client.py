"""The one pooled Redis client of a process; the boundary where Redis errors become domain ones."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel
from redis.backoff import ExponentialWithJitterBackoff
from redis.exceptions import RedisError

from fastwrap.domain.errors import ConfigurationError, Unavailable

log = logging.getLogger("fastwrap.redis")

type RedisClient = Redis | RedisCluster

# `redis+cluster://host:port` asks for a cluster-aware client; every key layout is cluster-safe.
CLUSTER_SCHEMES = {"redis+cluster": "redis", "rediss+cluster": "rediss"}
# `redis+sentinel://host:port,host:port/service` follows the master the Sentinels elect.
SENTINEL_SCHEMES = {"redis+sentinel", "rediss+sentinel"}

# Every key starts with the prefix, so deployments (or test runs) can share one Redis.
DEFAULT_KEY_PREFIX = "fw:"


def checked_prefix(prefix: str) -> str:
    if "{" in prefix or "}" in prefix:
        raise ValueError("a Redis key prefix must not contain braces: they pick cluster slots")
    return prefix


@dataclass(frozen=True, slots=True, kw_only=True)
class Timeouts:
    connect_seconds: float = 2.0
    command_seconds: float = 2.0
    # A few quick retries ride out a failover or a dropped idle connection; more would only
    # delay the 503 a caller gets while Redis is really down.
    retries: int = 2


def connect(url: str, timeouts: Timeouts | None = None) -> RedisClient:
    """Build the client from REDIS_URL. Nothing connects until the first command."""
    timeouts = timeouts or Timeouts()
    scheme, _, rest = url.partition("://")
    options: dict[str, Any] = {
        "decode_responses": True,
        "socket_connect_timeout": timeouts.connect_seconds,
        "socket_timeout": timeouts.command_seconds,
        "retry": Retry(ExponentialWithJitterBackoff(base=0.01, cap=0.2), timeouts.retries),
        "health_check_interval": 30,
    }
    try:
        if scheme.lower() in CLUSTER_SCHEMES:
            return RedisCluster.from_url(f"{CLUSTER_SCHEMES[scheme.lower()]}://{rest}", **options)
        if scheme.lower() in SENTINEL_SCHEMES:
            return _sentinel_master(scheme.lower(), rest, options)
        return Redis.from_url(url, **options)
    except ValueError as exc:
        # The URL may hold a password: name the variable, never echo the value.
        raise ConfigurationError(
            "REDIS_URL must be redis://, rediss://, unix://, redis+cluster:// or "
            "redis+sentinel://host:port[,host:port]/service[/db] with valid parts "
            f"({type(exc).__name__})"
        ) from exc


def _sentinel_master(scheme: str, rest: str, options: dict[str, Any]) -> Redis:
    """A client of the master that the Sentinels name, following it across failovers.

    `redis+sentinel://[[user]:password@]host:port[,host:port...]/service[/db]`; the password is
    the master's (Sentinels themselves are asked without one).
    """
    auth, _, location = rest.rpartition("@")
    hosts, _, path = location.partition("/")
    service, _, db = path.strip("/").partition("/")
    if not hosts or not service:
        raise ValueError("sentinel URL needs hosts and a service name")
    sentinels = []
    for host in hosts.split(","):
        name, _, port = host.rpartition(":")
        sentinels.append((name or host, int(port) if name else 26379))
    user, _, password = auth.rpartition(":") if ":" in auth else ("", "", auth)
    master_options = {**options, "db": int(db or 0), "ssl": scheme.startswith("rediss")}
    if password:
        master_options["password"] = unquote(password)
    if user:
        master_options["username"] = unquote(user)
    sentinel = Sentinel(  # type: ignore[no-untyped-call]
        sentinels,
        sentinel_kwargs={
            "socket_connect_timeout": options["socket_connect_timeout"],
            "socket_timeout": options["socket_timeout"],
        },
        **{k: v for k, v in master_options.items() if k not in {"password", "username"}},
    )
    master: Redis = sentinel.master_for(service, **master_options)
    return master


@contextmanager
def unavailable(what: str) -> Iterator[None]:
    """Turn any Redis failure (connection, timeout, server error) into Unavailable for `what`."""
    try:
        yield
    except (RedisError, OSError) as exc:
        # The caller learns what is down; the address and the driver's words go to the log.
        log.warning("%s unavailable: %s", what, describe(exc))
        raise Unavailable(f"{what} unavailable ({type(exc).__name__}); retry later") from exc


def describe(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


class Outage:
    """One log line when `what` stops answering and one when it answers again.

    Under an outage every call fails the same way: a line per call would flood the log (the
    limiter is asked on every request) and say nothing new. The line names the cause, address
    included: the log is for operators; what callers see names no host.
    """

    def __init__(self, what: str) -> None:
        self._what = what
        self.down = False

    @contextmanager
    def watch(self) -> Iterator[None]:
        """Redis failures inside become Unavailable for `what`, logged once per outage."""
        try:
            yield
        except (RedisError, OSError) as exc:
            self.failed(exc)
            raise Unavailable(
                f"{self._what} unavailable ({type(exc).__name__}); retry later"
            ) from exc
        self.answered()

    def failed(self, exc: BaseException) -> None:
        if not self.down:
            self.down = True
            log.warning(
                "%s unavailable: %s (logged once until it answers again)", self._what, describe(exc)
            )

    def answered(self) -> None:
        if self.down:
            self.down = False
            log.warning("%s answers again", self._what)
