"""Per-IP and per-key request budgets (SPEC §8), as pure ASGI middleware.

Every request from an IP counts against RATE_LIMIT_IP; the unauthenticated auth routes also
against RATE_LIMIT_AUTH per IP; requests with a key against RATE_LIMIT_CHAT (POST /api/chat) or
RATE_LIMIT_API per key. The most constraining budget is reported in the RateLimit-* headers.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fastwrap.domain.errors import Unavailable
from fastwrap.domain.model import RateDecision, RateLimit
from fastwrap.entrypoints.http.error_bodies import send_error
from fastwrap.ports.rate_limit import RateLimiter

log = logging.getLogger("fastwrap.ratelimit")

AUTH_PATHS = frozenset({"/auth/signup", "/auth/login", "/internal/bootstrap-admin"})
UNLIMITED_PATHS = frozenset({"/health", "/", "/docs", "/openapi.json", "/docs/oauth2-redirect"})

type Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, slots=True)
class Budgets:
    chat: RateLimit
    api: RateLimit
    auth: RateLimit
    ip: RateLimit
    fail_open: bool = True


def client_ip(scope: Scope, trusted: Sequence[Network]) -> str:
    """The socket peer, unless it is a trusted proxy: then the nearest untrusted X-Forwarded-For."""
    peer = (scope.get("client") or ("unknown", 0))[0]
    if not trusted or not _is_trusted(peer, trusted):
        return str(peer)
    forwarded = b",".join(v for k, v in scope.get("headers", ()) if k == b"x-forwarded-for")
    hops = [h.strip() for h in forwarded.decode("latin-1").split(",") if h.strip()]
    for hop in reversed(hops):
        if not _is_trusted(hop, trusted):
            return hop
    return str(peer)


def _is_trusted(address: str, trusted: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in trusted)


def _api_key(scope: Scope) -> bytes | None:
    for key, value in scope.get("headers", ()):
        if key == b"x-api-key":
            return bytes(value)
    return None


class RateLimitMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        limiter: Callable[[], RateLimiter | None],
        budgets: Budgets,
        trusted: Sequence[Network],
    ) -> None:
        self.app = app
        self._limiter = limiter
        self._budgets = budgets
        self._trusted = list(trusted)
        self._warned_at = 0.0

    def _checks(self, scope: Scope) -> list[tuple[str, RateLimit]]:
        path = scope["path"]
        b = self._budgets
        ip = client_ip(scope, self._trusted)
        checks = [(f"ip:{ip}", b.ip)]
        if path in AUTH_PATHS:
            checks.append((f"auth:{ip}", b.auth))
        key = _api_key(scope)
        if key:
            # The limiter sees a digest, never the key itself.
            digest = hashlib.sha256(key).hexdigest()[:32]
            chat = path == "/api/chat" and scope["method"] == "POST"
            checks.append((f"chat:{digest}", b.chat) if chat else (f"api:{digest}", b.api))
        return checks

    async def _decide(self, limiter: RateLimiter, scope: Scope) -> RateDecision | None:
        tightest: RateDecision | None = None
        for key, limit in self._checks(scope):
            decision = await limiter.hit(key, limit)
            if not decision.allowed:
                return decision
            if tightest is None or decision.remaining < tightest.remaining:
                tightest = decision
        return tightest

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        limiter = self._limiter()
        if scope["type"] != "http" or limiter is None or scope["path"] in UNLIMITED_PATHS:
            await self.app(scope, receive, send)
            return
        try:
            decision = await self._decide(limiter, scope)
        except Unavailable as exc:
            if not self._budgets.fail_open:
                await send_error(send, scope, 503, "ServiceUnavailable", exc.detail, [])
                return
            self._warn(exc)
            decision = None
        if decision is None:
            await self.app(scope, receive, send)
            return
        headers = _headers(decision)
        if not decision.allowed:
            retry = str(max(1, math.ceil(decision.retry_after))).encode()
            detail = f"rate limit exceeded; retry in {retry.decode()} s"
            await send_error(
                send, scope, 429, "RateLimited", detail, [*headers, (b"retry-after", retry)]
            )
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *headers]
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _warn(self, exc: Unavailable) -> None:
        now = time.monotonic()
        if now - self._warned_at > 60:  # one line a minute, not one per request
            self._warned_at = now
            log.warning("rate limiter unavailable, failing open: %s", exc.detail)


def _headers(decision: RateDecision) -> list[tuple[bytes, bytes]]:
    return [
        (b"ratelimit-limit", str(decision.limit).encode()),
        (b"ratelimit-remaining", str(max(0, decision.remaining)).encode()),
        (b"ratelimit-reset", str(max(0, math.ceil(decision.reset_after))).encode()),
    ]
