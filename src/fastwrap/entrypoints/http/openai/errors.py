"""OpenAI's error shape, `{"error": {"message", "type", "param", "code"}}`, for every `/v1` path.

The app's exception handlers and the ASGI middleware that answer before the routes (request
limits, rate limits, the last-resort 500) ask `is_openai` and build the body here, so a `/v1`
client never sees FastWrap's own error shape, and invalid input is a 400 naming the field.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict

from fastwrap.domain import errors as e

PREFIX = "/v1"


def is_openai(path: str) -> bool:
    return path == PREFIX or path.startswith(PREFIX + "/")


@dataclass(frozen=True, slots=True)
class Kind:
    """How one domain error reads to an OpenAI client."""

    status: int
    type: str
    code: str | None


INVALID = "invalid_request_error"
# Most specific first: the first class in an error's MRO that is listed decides.
KINDS: dict[type[e.DomainError], Kind] = {
    e.CharacterNotFound: Kind(404, INVALID, "model_not_found"),
    e.NotFound: Kind(404, INVALID, "not_found"),
    e.Busy: Kind(409, INVALID, "conversation_busy"),
    e.CharacterMismatch: Kind(409, INVALID, "conversation_character_mismatch"),
    e.EndUserMismatch: Kind(409, INVALID, "conversation_end_user_mismatch"),
    e.Conflict: Kind(409, INVALID, "conflict"),
    e.Ambiguous: Kind(400, INVALID, "model_ambiguous"),
    e.Invalid: Kind(400, INVALID, "invalid_value"),
    e.Unauthorized: Kind(401, INVALID, "invalid_api_key"),
    e.Forbidden: Kind(403, INVALID, "insufficient_scope"),
    e.RateLimited: Kind(429, "requests", "rate_limit_exceeded"),
    e.Unavailable: Kind(503, "server_error", "service_unavailable"),
    e.UpstreamFailed: Kind(502, "server_error", "upstream_error"),
    e.UpstreamTimeout: Kind(504, "server_error", "upstream_timeout"),
    e.ConfigurationError: Kind(500, "server_error", "internal_error"),
}
# Errors the rest of the app names by code (budgets, scopes: SPEC §13) read as OpenAI names them.
BY_CODE: dict[str, Kind] = {
    "BudgetExceeded": Kind(429, "insufficient_quota", "budget_exceeded"),
    "InsufficientScope": Kind(403, INVALID, "insufficient_scope"),
}
INTERNAL = Kind(500, "server_error", "internal_error")
# What an error answered outside the routes (by status alone) means.
BY_STATUS: dict[int, Kind] = {
    400: Kind(400, INVALID, "invalid_body"),
    401: Kind(401, INVALID, "invalid_api_key"),
    403: Kind(403, INVALID, "insufficient_scope"),
    404: Kind(404, INVALID, "not_found"),
    405: Kind(405, INVALID, "method_not_allowed"),
    408: Kind(408, INVALID, "request_timeout"),
    413: Kind(413, INVALID, "request_too_large"),
    414: Kind(414, INVALID, "request_too_large"),
    429: Kind(429, "requests", "rate_limit_exceeded"),
    431: Kind(431, INVALID, "request_too_large"),
    503: Kind(503, "server_error", "service_unavailable"),
}


class InvalidParam(e.Invalid):
    """Invalid input that OpenAI's shape names the field of (`param`)."""

    def __init__(self, detail: str, param: str) -> None:
        super().__init__(detail)
        self.param = param


def kind_of(exc: e.DomainError) -> Kind:
    if exc.code in BY_CODE:
        return BY_CODE[exc.code]
    for cls in type(exc).__mro__:
        if cls in KINDS:
            return KINDS[cls]
    return INTERNAL


def kind_of_status(status: int) -> Kind:
    return BY_STATUS.get(status) or (INTERNAL if status >= 500 else Kind(status, INVALID, None))


def body(message: str, kind: Kind, param: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind.type, "param": param, "code": kind.code}}


def domain_body(exc: e.DomainError) -> tuple[int, dict[str, Any]]:
    kind = kind_of(exc)
    param = getattr(exc, "param", None)  # InvalidParam, or a domain error naming its field
    return kind.status, body(exc.detail, kind, param)


def param_of(loc: Sequence[str | int]) -> str | None:
    """A pydantic error location as OpenAI names a parameter: `messages[0].content`."""
    parts = list(loc[1:] if loc and loc[0] in ("body", "query", "path", "header") else loc)
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or None


def validation_body(errors: Sequence[Any]) -> dict[str, Any]:
    """The first validation error, as OpenAI reports one: its message and the field it names."""
    first = errors[0] if errors else {}
    # A body that is not JSON names a character offset, not a field.
    param = None if first.get("type") == "json_invalid" else param_of(first.get("loc", ()))
    message = str(first.get("msg", "invalid request"))
    if param is not None:
        message = f"{param}: {message}"
    return body(message, Kind(400, INVALID, "invalid_value"), param)


class ErrorDetail(BaseModel):
    model_config = ConfigDict(extra="forbid")

    message: str
    type: str
    param: str | None
    code: str | None


class OpenAIErrorBody(BaseModel):
    """Every error a `/v1` route answers."""

    model_config = ConfigDict(extra="forbid")

    error: ErrorDetail


DESCRIPTIONS = {
    400: "Invalid input (`invalid_request_error`, `param` names the field), `model_ambiguous`",
    401: "Missing, unknown or revoked key (`invalid_api_key`)",
    403: "The key lacks the scope (`insufficient_scope`)",
    404: "`model_not_found`, or `not_found`",
    408: "The request body did not arrive in time",
    409: "`conversation_busy`, `conversation_character_mismatch`",
    413: "Request body too large",
    414: "Path and query string too long",
    429: "`rate_limit_exceeded` or `budget_exceeded`, with `Retry-After` and `x-ratelimit-*`",
    431: "Request headers too large",
    502: "The model provider failed",
    503: "A dependency is unavailable",
    504: "The model provider timed out",
}
EVERY_ROUTE = (400, 401, 403, 408, 413, 414, 429, 431, 503)


def documented(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for these statuses, in OpenAI's shape."""
    return {
        status: {"model": OpenAIErrorBody, "description": DESCRIPTIONS[status]}
        for status in (*EVERY_ROUTE, *statuses)
    }
