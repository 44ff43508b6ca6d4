"""Request metrics by route template and status, rejections by reason, and `GET /metrics`.

Pure ASGI and outermost, so every answer is counted, including the ones the request-limit and
rate-limit middleware give before routing (their route is matched here, only then). Labels are
bounded by construction: route templates (never a raw path), known methods, status codes, and a
fixed set of rejection reasons; no tenant id, key or email ever becomes a label.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Protocol

import orjson
from fastapi import APIRouter, Response
from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"
REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
# Error codes of a 429 (ours, and the OpenAI-shaped ones of /v1) → the `reason` label.
REJECTION_REASONS = {
    "RateLimited": "rate_limit",
    "rate_limit_exceeded": "rate_limit",
    "BudgetExceeded": "budget",
    "budget_exceeded": "budget",
}


class MetricsExposition(Protocol):
    """What the container hands the app when METRICS_ENABLED: where to record, what to serve."""

    registry: CollectorRegistry
    content_type: str

    def exposition(self) -> bytes: ...


class HttpMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        labels = ["method", "route", "status"]
        self.requests = Counter(
            "fastwrap_http_requests", "HTTP requests answered", labels, registry=registry
        )
        self.duration = Histogram(
            "fastwrap_http_request_duration_seconds",
            "Time to answer an HTTP request, to the end of its body (streams included)",
            labels,
            buckets=REQUEST_BUCKETS,
            registry=registry,
        )
        self.rejected = Counter(
            "fastwrap_requests_rejected",
            "Requests refused with 429, by reason (rate_limit, budget, other)",
            ["reason"],
            registry=registry,
        )


def error_code(body: bytes) -> str | None:
    """The machine code of an error body: `{"error": "Code"}` or OpenAI's `{"error": {"code"}}`."""
    try:
        error = orjson.loads(body).get("error")
    except (orjson.JSONDecodeError, AttributeError):
        return None
    if isinstance(error, dict):
        error = error.get("code") or error.get("type")
    return error if isinstance(error, str) else None


class MetricsMiddleware:
    def __init__(self, app: ASGIApp, metrics: HttpMetrics, routes: Sequence[BaseRoute]) -> None:
        self.app = app
        self._metrics = metrics
        self._routes = routes
        self._children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # unless a response starts: an exception got past every handler
        rejection: str | None = None
        recorded = False

        def record() -> None:
            nonlocal recorded
            recorded = True
            self._record(scope, status, time.perf_counter() - started)
            if rejection is not None:
                self._metrics.rejected.labels(rejection).inc()

        async def send_observed(message: Message) -> None:
            nonlocal status, rejection
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                if status == 429 and rejection is None:
                    code = error_code(message.get("body", b""))
                    rejection = REJECTION_REASONS.get(code or "", "other")
                if not message.get("more_body", False) and not recorded:
                    # Counted before the client can see the response end: a scrape made after
                    # a client got its answer always includes it.
                    record()
            await send(message)

        try:
            await self.app(scope, receive, send_observed)
        finally:
            if not recorded:  # no complete response: an error, or a client that left
                record()

    def _record(self, scope: Scope, status: int, seconds: float) -> None:
        method = scope["method"] if scope["method"] in METHODS else "other"
        key = (method, self._route(scope), status)
        children = self._children.get(key)
        if children is None:
            labels = (key[0], key[1], str(status))
            metrics = self._metrics
            children = (metrics.requests.labels(*labels), metrics.duration.labels(*labels))
            self._children[key] = children
        children[0].inc()
        children[1].observe(seconds)

    def _route(self, scope: Scope) -> str:
        route = scope.get("route")
        if route is not None:
            return str(route.path)
        for candidate in self._routes:  # answered before routing (413, 429, ...): match it here
            match, _ = candidate.matches(scope)
            if match is not Match.NONE:
                return str(getattr(candidate, "path", UNMATCHED))
        return UNMATCHED


def metrics_router(metrics: MetricsExposition) -> APIRouter:
    router = APIRouter(tags=["service"])

    @router.get("/metrics", include_in_schema=False)
    def scrape() -> Response:  # sync: reading the workers' files runs off the event loop
        return Response(metrics.exposition(), media_type=metrics.content_type)

    return router
