"""The one table from domain errors to HTTP statuses, and the JSON error shape."""

from __future__ import annotations

import logging
import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from fastwrap.domain import errors as e
from fastwrap.entrypoints.http.error_bodies import (
    ErrorBody,
    RuleErrorBody,
    ValidationErrorBody,
    error_body,
)
from fastwrap.entrypoints.http.openai import errors as openai

log = logging.getLogger("fastwrap.http")

STATUS: dict[type[e.DomainError], int] = {
    e.NotFound: 404,
    e.Conflict: 409,
    e.Busy: 409,
    e.Invalid: 422,
    e.Unauthorized: 401,
    e.Forbidden: 403,
    e.RateLimited: 429,
    e.Unavailable: 503,
    e.UpstreamFailed: 502,
    e.UpstreamTimeout: 504,
    e.ConfigurationError: 500,
}
# Starlette's own HTTP errors (and the request limits'), in the same shape.
HTTP_CODES = {
    400: "MalformedBody",
    404: "NotFound",
    405: "MethodNotAllowed",
    408: "RequestTimeout",
    413: "PayloadTooLarge",
}

# What each status means here, for the OpenAPI document: every error a route can answer is
# declared, so a schema-conformance check of our responses means something.
DESCRIPTIONS = {
    400: "Malformed body: not decodable JSON (invalid UTF-8, nested too deeply) or Content-Length",
    401: "Missing, unknown or revoked key",
    403: "Not allowed: out of the key's scopes, an end-user token off its character or end user,"
    " a browser origin the client does not allow, admin only, or internal routes disabled",
    404: "Not found (or another tenant's)",
    408: "The request body did not arrive in time",
    409: "Conflict",
    413: "Request body too large",
    414: "Path and query string too long",
    422: "Invalid input: FastAPI's validation shape, or a business rule's error",
    429: "Rate limit exceeded",
    431: "Request headers too large",
    502: "The model or embedding provider failed",
    503: "A dependency is unavailable",
    504: "The model or embedding provider timed out",
}
_HEADER = {"schema": {"type": "string"}, "required": True}
HEADERS = {
    401: {"WWW-Authenticate": {**_HEADER, "description": "Always `ApiKey`"}},
    429: {"Retry-After": {**_HEADER, "description": "Seconds until a retry can succeed"}},
}
# The request limits apply to every route, before any of them runs.
EVERY_ROUTE = (400, 408, 413, 414, 431)
# Every route behind the rate limiter with parameters or a body may also answer these: invalid
# input, and the rate limiter (or its store being down).
COMMON = (422, 429, 503)


def documented(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for these error statuses, in the shape we send them."""
    declared: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        model: Any = ValidationErrorBody | RuleErrorBody if status == 422 else ErrorBody
        declared[status] = {"model": model, "description": DESCRIPTIONS[status]}
        if status in HEADERS:
            declared[status]["headers"] = HEADERS[status]
    return declared


def status_of(exc: e.DomainError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


def request_id(request: Request) -> str | None:
    return getattr(request.state, "request_id", None)


def error_response(
    request: Request, status: int, code: str, detail: str, **extra: Any
) -> JSONResponse:
    if openai.is_openai(request.url.path):
        body = openai.body(detail, openai.kind_of_status(status))
        return openai_response(body, status)
    body = error_body(code, detail, request_id(request), **extra)
    headers = {"WWW-Authenticate": "ApiKey"} if status == 401 else None
    return JSONResponse(body, status_code=status, headers=headers)


def openai_response(body: dict[str, Any], status: int) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, headers=headers)


def _domain_response(request: Request, exc: e.DomainError) -> tuple[int, JSONResponse]:
    if openai.is_openai(request.url.path):
        status, body = openai.domain_body(exc)
        return status, openai_response(body, status)
    status = status_of(exc)
    extra: dict[str, Any] = {}
    if isinstance(exc, e.PolicyViolation):
        extra["rules"] = exc.failures
    return status, error_response(request, status, exc.code, exc.detail, **extra)


async def domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, e.DomainError)
    status, response = _domain_response(request, exc)
    if isinstance(exc, e.RateLimited):
        response.headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after)))
        if exc.limit is not None:  # the budget's own RateLimit-* headers (SPEC §8)
            reset = str(math.ceil(exc.reset_after or 0))
            response.headers["RateLimit-Limit"] = str(exc.limit)
            response.headers["RateLimit-Remaining"] = "0"
            response.headers["RateLimit-Reset"] = reset
            if openai.is_openai(request.url.path):
                response.headers["x-ratelimit-limit-requests"] = str(exc.limit)
                response.headers["x-ratelimit-remaining-requests"] = "0"
                response.headers["x-ratelimit-reset-requests"] = f"{reset}s"
    if isinstance(exc, e.Unavailable):
        # The adapter logged the outage once; a line per refused request would flood the log.
        log.debug("%s: %s", exc.code, exc.detail)
    elif status >= 500:
        log.warning("%s: %s", exc.code, exc.detail)
    return response


async def http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = HTTP_CODES.get(exc.status_code, "HTTPError")
    response = error_response(request, exc.status_code, code, str(exc.detail))
    for name, value in (exc.headers or {}).items():
        response.headers[name] = value
    if exc.status_code == 405:
        response.headers["Allow"] = _allowed_methods(request)
    return response


def _allowed_methods(request: Request) -> str:
    """Starlette's Allow lists only the first route that matched the path; a path served by
    several routes (GET, PATCH and DELETE on one id) must list all of their methods."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        match, _ = route.matches(request.scope)
        if match is not Match.NONE:
            methods |= getattr(route, "methods", None) or set()
    return ", ".join(sorted(methods))


async def validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    if openai.is_openai(request.url.path):  # OpenAI's clients expect a 400 naming the field
        return openai_response(openai.validation_body(exc.errors()), 400)
    # FastAPI's shape (a list under "detail"), plus our machine code; inputs are not echoed
    # back because they may hold a password.
    details = [
        {"type": err.get("type"), "loc": list(err.get("loc", ())), "msg": err.get("msg")}
        for err in exc.errors()
    ]
    return JSONResponse(
        error_body("ValidationError", details, request_id(request)), status_code=422
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(e.DomainError, domain_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
