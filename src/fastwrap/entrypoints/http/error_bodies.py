"""The error bodies: built in one place, and declared in the OpenAPI document with exactly the
keys we send.

Routes answer errors through the exception handlers (errors.py); the ASGI middleware that
answers before or around the app (request limits, rate limits, the last-resort 500) sends the
same body with `send_error`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field
from starlette.types import Scope, Send

from fastwrap.entrypoints.http.openai import errors as openai


def error_body(code: str, detail: Any, request_id: str | None, **extra: Any) -> dict[str, Any]:
    """`{"detail", "error", "request_id", ...extra}`: every error FastWrap sends."""
    return {"detail": detail, "error": code, "request_id": request_id, **extra}


async def send_error(
    send: Send,
    scope: Scope,
    status: int,
    code: str,
    detail: str,
    headers: Iterable[tuple[bytes, bytes]] = (),
) -> None:
    """Answer with an error body from ASGI middleware, outside FastAPI's handlers."""
    request_id = scope.get("state", {}).get("request_id")
    on_openai = openai.is_openai(scope.get("path", ""))
    if on_openai:
        payload = orjson.dumps(openai.body(detail, openai.kind_of_status(status)))
    else:
        payload = orjson.dumps(error_body(code, detail, request_id))
    start_headers = [
        (b"content-type", b"application/json"),
        (b"content-length", b"%d" % len(payload)),
        *headers,
    ]
    if status == 401:
        start_headers.append((b"www-authenticate", b"Bearer" if on_openai else b"ApiKey"))
    await send({"type": "http.response.start", "status": status, "headers": start_headers})
    await send({"type": "http.response.body", "body": payload})


class ErrorBody(BaseModel):
    """Every error but a validation error. Exactly these keys, so the schema says what we send."""

    model_config = ConfigDict(extra="forbid")

    detail: str
    error: str
    request_id: str | None


class RuleErrorBody(ErrorBody):
    """A 422 from a business rule (an invalid email, a weak password, a bad cursor)."""

    rules: list[str] = Field(
        default_factory=list, description="Every password rule that failed (password errors only)"
    )


class ValidationIssue(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: str
    loc: list[str | int]
    msg: str


class ValidationErrorBody(BaseModel):
    """FastAPI's 422 shape, plus our machine code and request id; inputs are never echoed."""

    model_config = ConfigDict(extra="forbid")

    detail: list[ValidationIssue]
    error: Literal["ValidationError"]
    request_id: str | None
