"""Per-IP and per-client request budgets (SPEC §8), as pure ASGI middleware.

Every request from an IP counts against RATE_LIMIT_IP (an IPv6 address: its /64); the
unauthenticated auth routes also against RATE_LIMIT_AUTH per IP; requests with a key against
their client's RATE_LIMIT_CHAT (POST /api/chat) or RATE_LIMIT_API, whichever key it is, so a
new key never resets a budget; an end-user token also against RATE_LIMIT_END_USER of its own.
The credential is resolved here (principal.py: a lookup served from memory, kept in the
request's state for the route's dependency), so it is looked up once per request. Then every
budget is checked in one limiter call: one Redis round trip, or none while this process holds a
lease of each (domain/rate_leases.py). The most constraining budget is reported in the
RateLimit-* headers.
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fastwrap.container import Services
from fastwrap.domain.errors import Unavailable
from fastwrap.domain.keys import Principal
from fastwrap.domain.model import RateDecision, RateLimit
from fastwrap.domain.rate_limits import RateCheck, ip_owner
from fastwrap.entrypoints.http.error_bodies import send_error
from fastwrap.entrypoints.http.openai.errors import is_openai
from fastwrap.entrypoints.http.principal import resolve

AUTH_PATHS = frozenset({"/auth/signup", "/auth/login", "/internal/bootstrap-admin"})
UNLIMITED_PATHS = frozenset({"/health", "/", "/docs", "/openapi.json", "/docs/oauth2-redirect"})
# Chat turns, counted against the chat budget (the OpenAI-compatible ones too, when present).
CHAT_PATHS = frozenset({"/api/chat", "/v1/chat/completions", "/v1/responses"})

type Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, slots=True)
class Budgets:
    chat: RateLimit
    api: RateLimit
    auth: RateLimit
    ip: RateLimit
    end_user: RateLimit | None = None
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


class RateLimitMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        services: Callable[[], Services | None],
        budgets: Budgets,
        trusted: Sequence[Network],
    ) -> None:
        self.app = app
        self._services = services
        self._budgets = budgets
        self._trusted = list(trusted)

    def checks(self, scope: Scope, principal: Principal | None) -> list[RateCheck]:
        b = self._budgets
        ip = ip_owner(client_ip(scope, self._trusted))
        checks = [RateCheck(ip, "all", b.ip)]
        if scope["path"] in AUTH_PATHS:
            checks.append(RateCheck(ip, "auth", b.auth))
        if principal is not None:
            owner = f"client:{principal.client.id}"
            if scope["method"] == "POST" and scope["path"] in CHAT_PATHS:
                checks.append(RateCheck(owner, "chat", b.chat))
            else:
                checks.append(RateCheck(owner, "api", b.api))
            token = principal.token
            if token is not None and b.end_user is not None:
                # Under the client's owner: the same Redis Cluster slot as the client's budget.
                checks.append(RateCheck(owner, f"token:{token.id}", b.end_user))
        return checks

    async def _principal(self, services: Services, scope: Scope) -> Principal | None:
        # An unknown or revoked key (the route answers 401), or the database down (503):
        # only the IP's budgets count.
        found = await resolve(scope, services)
        return found if isinstance(found, Principal) else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        services = self._services()
        if scope["type"] != "http" or services is None or scope["path"] in UNLIMITED_PATHS:
            await self.app(scope, receive, send)
            return
        checks = self.checks(scope, await self._principal(services, scope))
        try:
            decision: RateDecision | None = await services.rate_limiter.hit_all(checks)
        except Unavailable as exc:
            if not self._budgets.fail_open:
                await send_error(send, scope, 503, "ServiceUnavailable", exc.detail, [])
                return
            decision = None  # the limiter logs the outage, once
        if decision is None:
            await self.app(scope, receive, send)
            return
        headers = _headers(decision, openai=is_openai(scope["path"]))
        if not decision.allowed:
            retry = str(max(1, math.ceil(decision.retry_after))).encode()
            detail = f"rate limit exceeded; retry in {retry.decode()} s"
            await send_error(
                send, scope, 429, "RateLimited", detail, [*headers, (b"retry-after", retry)]
            )
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                sent = message.get("headers", ())
                # A route that refused on a budget of its own (failed logins) reports that one.
                if not any(name == b"ratelimit-limit" for name, _ in sent):
                    message["headers"] = [*sent, *headers]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _headers(decision: RateDecision, *, openai: bool) -> list[tuple[bytes, bytes]]:
    limit = str(decision.limit).encode()
    remaining = str(max(0, decision.remaining)).encode()
    reset = str(max(0, math.ceil(decision.reset_after))).encode()
    headers = [(b"ratelimit-limit", limit), (b"ratelimit-remaining", remaining)]
    headers.append((b"ratelimit-reset", reset))
    if openai:  # the same budget under the names OpenAI's clients read
        headers += [
            (b"x-ratelimit-limit-requests", limit),
            (b"x-ratelimit-remaining-requests", remaining),
            (b"x-ratelimit-reset-requests", reset + b"s"),
        ]
    return headers
