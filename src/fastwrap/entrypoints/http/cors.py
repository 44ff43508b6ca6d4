"""CORS from each tenant's `allowed_origins` (SPEC §13), as pure ASGI middleware.

- A preflight (OPTIONS with `Access-Control-Request-Method`) carries no key, so it is answered
  when some live tenant allows its origin, and refused (403) otherwise. A yes is kept for a few
  seconds (the browser keeps it longer anyway, `Access-Control-Max-Age`, and the real request
  is checked against its own tenant); a no is not kept, so a newly allowed origin works at once.
- A request with a key or token from a foreign origin is refused (403) unless its tenant allows
  that origin: tenant keys do not belong in other sites' pages. From an allowed origin the
  answer carries `Access-Control-Allow-Origin`, so the page may read it.
- Same-origin requests (the playground, served by FastWrap itself) are not cross-origin at all.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fastwrap.container import Services
from fastwrap.domain.keys import Principal
from fastwrap.entrypoints.http.error_bodies import send_error
from fastwrap.entrypoints.http.principal import resolve

CORS_PATHS = ("/api/", "/v1/", "/clients/me")
ALLOW_METHODS = b"GET, POST, PATCH, DELETE"
ALLOW_HEADERS = b"x-api-key, authorization, content-type, x-request-id"
EXPOSE_HEADERS = b"x-request-id, retry-after, ratelimit-limit, ratelimit-remaining, ratelimit-reset"
MAX_AGE = b"600"
PREFLIGHT_MEMORY = 10.0  # seconds a preflight answer is kept in this process
PREFLIGHT_ENTRIES = 10_000
DEFAULT_PORTS = {"http": ":80", "https": ":443"}
FOREIGN_ORIGIN = "this origin is not in the client's allowed_origins"


def _headers(scope: Scope) -> tuple[str | None, str | None, bool]:
    origin = host = None
    preflight = False
    for name, value in scope.get("headers", ()):
        if name == b"origin":
            origin = bytes(value).decode("latin-1")
        elif name == b"host":
            host = bytes(value).decode("latin-1").lower()
        elif name == b"access-control-request-method":
            preflight = True
    return origin, host, preflight


def same_origin(origin: str, host: str | None) -> bool:
    """Whether the page is FastWrap's own (its host and port are the request's `Host`). The
    scheme is not compared: behind a TLS proxy the page is https and the hop to us plain."""
    scheme, _, rest = origin.lower().partition("://")
    if host is None or not rest:
        return False
    default = DEFAULT_PORTS.get(scheme, "")
    return rest.removesuffix(default) == host.removesuffix(default)


def _allow(origin: str) -> list[tuple[bytes, bytes]]:
    return [
        (b"access-control-allow-origin", origin.encode("latin-1")),
        (b"access-control-expose-headers", EXPOSE_HEADERS),
        (b"vary", b"Origin"),
    ]


class CorsMiddleware:
    def __init__(self, app: ASGIApp, services: Callable[[], Services | None]) -> None:
        self.app = app
        self._services = services
        self._preflights: dict[str, tuple[float, bool]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        services = self._services()
        if scope["type"] != "http" or services is None:
            await self.app(scope, receive, send)
            return
        origin, host, preflight = _headers(scope)
        if origin is None or same_origin(origin, host):
            await self.app(scope, receive, send)
            return
        if preflight and scope["method"] == "OPTIONS":
            await self._preflight(services, scope, send, origin)
            return
        found = await resolve(scope, services)
        if not isinstance(found, Principal):  # no key (or a bad one): the route answers 401
            await self.app(scope, receive, send)
            return
        if origin not in found.client.allowed_origins:
            await send_error(send, scope, 403, "OriginNotAllowed", FOREIGN_ORIGIN, [])
            return
        allow = _allow(origin)

        async def send_allowed(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *allow]
            await send(message)

        await self.app(scope, receive, send_allowed)

    async def _preflight(self, services: Services, scope: Scope, send: Send, origin: str) -> None:
        if not scope["path"].startswith(CORS_PATHS) or not await self._allowed(services, origin):
            await send_error(send, scope, 403, "OriginNotAllowed", FOREIGN_ORIGIN, [])
            return
        headers = [
            *_allow(origin),
            (b"access-control-allow-methods", ALLOW_METHODS),
            (b"access-control-allow-headers", ALLOW_HEADERS),
            (b"access-control-max-age", MAX_AGE),
        ]
        await send({"type": "http.response.start", "status": 204, "headers": headers})
        await send({"type": "http.response.body", "body": b""})

    async def _allowed(self, services: Services, origin: str) -> bool:
        now = time.monotonic()
        kept = self._preflights.get(origin)
        if kept is not None and now - kept[0] < PREFLIGHT_MEMORY:
            return kept[1]
        allowed = await services.client_settings.origin_allowed(origin)
        if allowed:
            if len(self._preflights) >= PREFLIGHT_ENTRIES:
                self._preflights.clear()
            self._preflights[origin] = (now, allowed)
        return allowed
