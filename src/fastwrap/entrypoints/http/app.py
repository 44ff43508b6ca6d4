"""The FastAPI application, built around a container whose resources its lifespan owns."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from fastapi import FastAPI

from fastwrap.container import Container, running
from fastwrap.domain.errors import DomainError
from fastwrap.domain.model import RateLimit
from fastwrap.entrypoints.http import errors
from fastwrap.entrypoints.http.middleware import (
    BodyLimitMiddleware,
    RequestContextMiddleware,
)
from fastwrap.entrypoints.http.rate_limit import Budgets, RateLimitMiddleware
from fastwrap.entrypoints.http.routes import admin, auth, characters, chat, meta, vectors
from fastwrap.entrypoints.http.routes.meta import package_version
from fastwrap.entrypoints.http.schemas import ErrorBody
from fastwrap.ports.rate_limit import RateLimiter
from fastwrap.settings import Settings

ERROR_RESPONSES: dict[int | str, dict[str, object]] = {
    status: {"model": ErrorBody, "description": text}
    for status, text in {
        401: "Missing, unknown or revoked API key",
        403: "Not allowed",
        404: "Not found (or another tenant's)",
        409: "Conflict",
        413: "Request body too large",
        429: "Rate limit exceeded",
        502: "The model or embedding provider failed",
        503: "A dependency is unavailable",
        504: "The model or embedding provider timed out",
    }.items()
}


def _budgets(settings: Settings) -> Budgets:
    return Budgets(
        chat=RateLimit.parse(settings.rate_limit_chat),
        api=RateLimit.parse(settings.rate_limit_api),
        auth=RateLimit.parse(settings.rate_limit_auth),
        ip=RateLimit.parse(settings.rate_limit_ip),
        fail_open=settings.rate_limit_fail_open,
    )


def create_app(container: Container) -> FastAPI:
    """Build the app; its lifespan starts the container's resources and closes them."""
    settings: Settings = container.settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            try:
                services = await stack.enter_async_context(running(container))
            except DomainError as exc:
                app.state.startup_error = exc.detail  # one clear line instead of a traceback
                raise
            app.state.services = services
            yield

    app = FastAPI(
        title="FastWrap",
        version=package_version(),
        description="Persona chatbots as a service: characters, chat with memory, vector search.",
        lifespan=lifespan,
        responses=ERROR_RESPONSES,
    )
    errors.install(app)
    for module in (meta, auth, characters, chat, vectors, admin):
        app.include_router(module.router)

    def limiter() -> RateLimiter | None:
        services = getattr(app.state, "services", None)
        return services.rate_limiter if services is not None else None

    if settings.rate_limit_enabled:
        app.add_middleware(
            RateLimitMiddleware,
            limiter=limiter,
            budgets=_budgets(settings),
            trusted=settings.trusted_proxy_networks,
        )
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestContextMiddleware)  # outermost: every response gets an id
    return app
