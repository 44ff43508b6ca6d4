"""Size and time limits on what a request may send, as pure ASGI middleware (SPEC §3, §8).

Uvicorn's default parser (httptools) takes headers of any size, and neither of its parsers times
out a body that trickles in, so the app enforces both: headers over the limit are a 431, a body
over MAX_BODY_BYTES a 413 (announced by Content-Length or streamed), a path and query string over
the limit a 414, and a body that has not arrived by the deadline a 408 that closes the
connection. Every refusal keeps the JSON error shape.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fastwrap.entrypoints.http.error_bodies import send_error

MAX_HEADER_BYTES = 32 * 1024
MAX_TARGET_BYTES = 8 * 1024  # path and query string; no route needs a tenth of it
BODY_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class BulkBody:
    """A route that takes more than MAX_BODY_BYTES (document uploads, NDJSON imports), with
    its own size limit and deadline. Such routes authenticate before they read their body, so
    only a tenant's own requests get the longer deadline."""

    path: str
    max_bytes: int
    timeout_seconds: float


@dataclass(frozen=True, slots=True)
class RequestLimits:
    max_body_bytes: int
    max_header_bytes: int = MAX_HEADER_BYTES
    max_target_bytes: int = MAX_TARGET_BYTES
    # From the first byte awaited to the last: a deadline, not an idle timeout, so a client
    # trickling a byte a second cannot hold a connection for ever.
    body_timeout_seconds: float = BODY_TIMEOUT_SECONDS
    bulk: tuple[BulkBody, ...] = ()

    def for_path(self, path: str) -> tuple[int, float]:
        """(max body bytes, body deadline) of a request to `path`."""
        for bulk in self.bulk:
            if path == bulk.path:
                return bulk.max_bytes, bulk.timeout_seconds
        return self.max_body_bytes, self.body_timeout_seconds


class BodyTooLarge(HTTPException):
    """Raised from `receive` when a streamed body passes the limit; rendered as a JSON 413.

    The connection stays open: uvicorn discards the rest of the body, so a client that sends
    all of it before reading (as most do) still gets the 413 rather than a reset connection.
    """

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"request body is larger than {max_bytes} bytes")


class BodyTooSlow(HTTPException):
    """Raised from `receive` when the body misses its deadline; rendered as a JSON 408, and the
    connection is closed since the rest of the body may still be on its way."""

    def __init__(self, seconds: float) -> None:
        super().__init__(
            408, f"request body not received within {seconds:g} s", {"Connection": "close"}
        )


class RequestLimitsMiddleware:
    def __init__(self, app: ASGIApp, limits: RequestLimits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refusal = self._refusal(scope)
        if refusal is not None:
            await send_error(send, scope, *refusal)
            return
        await self.app(scope, self._guarded(receive, *self.limits.for_path(scope["path"])), send)

    def _refusal(self, scope: Scope) -> tuple[int, str, str] | None:
        limits = self.limits
        target = len(scope.get("raw_path") or scope["path"].encode()) + len(scope["query_string"])
        if target > limits.max_target_bytes:
            detail = f"path and query string are longer than {limits.max_target_bytes} bytes"
            return 414, "URITooLong", detail
        headers = scope.get("headers", ())
        if sum(len(k) + len(v) + 4 for k, v in headers) > limits.max_header_bytes:
            detail = f"request headers are larger than {limits.max_header_bytes} bytes"
            return 431, "HeadersTooLarge", detail
        length = next((v for k, v in headers if k == b"content-length"), None)
        if length is None:
            return None
        if not length.isdigit():
            return 400, "MalformedBody", "Content-Length is not a number"
        max_bytes, _ = limits.for_path(scope["path"])
        if int(length) > max_bytes:
            detail = f"request body is larger than {max_bytes} bytes"
            return 413, "PayloadTooLarge", detail
        return None

    def _guarded(self, receive: Receive, max_bytes: int, timeout: float) -> Receive:
        received = 0
        done = False
        deadline: float | None = None

        async def guarded_receive() -> Message:
            nonlocal received, done, deadline
            if done:  # after the body, receive only reports a disconnect: no deadline then
                return await receive()
            loop = asyncio.get_running_loop()
            deadline = deadline or loop.time() + timeout
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                raise BodyTooSlow(timeout) from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_bytes:
                    raise BodyTooLarge(max_bytes)
                done = not message.get("more_body", False)
            return message

        return guarded_receive
