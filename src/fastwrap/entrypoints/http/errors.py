"""The one table from domain errors to HTTP statuses, and the JSON error shape."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from fastwrap.domain import errors as e

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
    body = {"detail": detail, "error": code, "request_id": request_id(request), **extra}
    headers = {"WWW-Authenticate": "ApiKey"} if status == 401 else None
    return JSONResponse(body, status_code=status, headers=headers)


async def domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, e.DomainError)
    status = status_of(exc)
    extra: dict[str, Any] = {}
    if isinstance(exc, e.PolicyViolation):
        extra["rules"] = exc.failures
    response = error_response(request, status, exc.code, exc.detail, **extra)
    if isinstance(exc, e.RateLimited):
        response.headers["Retry-After"] = str(max(1, round(exc.retry_after)))
    if status >= 500:
        log.warning("%s: %s", exc.code, exc.detail)
    return response


async def http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    codes = {404: "NotFound", 405: "MethodNotAllowed", 413: "PayloadTooLarge"}
    response = error_response(
        request, exc.status_code, codes.get(exc.status_code, "HTTPError"), str(exc.detail)
    )
    for name, value in (exc.headers or {}).items():
        response.headers[name] = value
    return response


async def validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    # FastAPI's shape (a list under "detail"), plus our machine code; inputs are not echoed
    # back because they may hold a password.
    details = [
        {"type": err.get("type"), "loc": list(err.get("loc", ())), "msg": err.get("msg")}
        for err in exc.errors()
    ]
    return JSONResponse(
        {"detail": details, "error": "ValidationError", "request_id": request_id(request)},
        status_code=422,
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(e.DomainError, domain_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
