"""Pure ASGI middleware: request ids, the access log and the last-resort JSON 500.

Pure ASGI rather than BaseHTTPMiddleware: it costs less per request and does not buffer streams.
"""

from __future__ import annotations

import logging
import re
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fastwrap.entrypoints.http.error_bodies import send_error

access_log = logging.getLogger("fastwrap.access")
error_log = logging.getLogger("fastwrap.http")

_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return str(value.decode("latin-1"))
    return None


class RequestContextMiddleware:
    """Gives every request an id (echoed if the caller sent a sane one), logs one line per
    request, and turns an unexpected exception into a JSON 500 that carries the request id."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sent = _header(scope, b"x-request-id")
        request_id = sent if sent and _SAFE_REQUEST_ID.fullmatch(sent) else uuid.uuid4().hex
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        started = time.perf_counter()
        status = 0
        raw_id = request_id.encode()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), (b"x-request-id", raw_id)]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            error_log.exception("unhandled error (request %s)", request_id)
            if status:  # the response had started: all we can do is cut it short
                raise
            await send_error(send_with_id, scope, 500, "InternalError", "internal error")
        finally:
            route = scope.get("route")
            access_log.info(
                "%s %s %s %d %.1fms tenant=%s",
                request_id,
                scope["method"],
                getattr(route, "path", scope["path"]),
                status,
                (time.perf_counter() - started) * 1000,
                state.get("client_id", "-"),
            )
