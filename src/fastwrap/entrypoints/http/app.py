"""The FastAPI application, built around a container whose resources its lifespan owns."""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute

from fastwrap.container import Container, Services, running
from fastwrap.domain.errors import DomainError
from fastwrap.domain.model import RateLimit
from fastwrap.entrypoints.http import errors
from fastwrap.entrypoints.http.cors import CorsMiddleware
from fastwrap.entrypoints.http.limits import BulkBody, RequestLimits, RequestLimitsMiddleware
from fastwrap.entrypoints.http.metrics import (
    HttpMetrics,
    MetricsExposition,
    MetricsMiddleware,
    metrics_router,
)
from fastwrap.entrypoints.http.middleware import RequestContextMiddleware
from fastwrap.entrypoints.http.openai.routes import ROUTERS as OPENAI_ROUTERS
from fastwrap.entrypoints.http.rate_limit import Budgets, RateLimitMiddleware
from fastwrap.entrypoints.http.routes import (
    admin,
    auth,
    characters,
    chat,
    documents,
    end_users,
    keys,
    meta,
    playground,
    usage,
    vectors,
)
from fastwrap.entrypoints.http.routes.meta import package_version
from fastwrap.settings import Settings


def _budgets(settings: Settings) -> Budgets:
    return Budgets(
        chat=RateLimit.parse(settings.rate_limit_chat),
        api=RateLimit.parse(settings.rate_limit_api),
        auth=RateLimit.parse(settings.rate_limit_auth),
        ip=RateLimit.parse(settings.rate_limit_ip),
        end_user=RateLimit.parse(settings.rate_limit_end_user),
        fail_open=settings.rate_limit_fail_open,
    )


_ROUTE_OPTIONS = tuple(
    name
    for name in inspect.signature(APIRouter.add_api_route).parameters
    if name not in ("self", "path", "endpoint")
)


def add_routes(app: FastAPI, router: APIRouter) -> None:
    """`app.include_router(router)`, with the routes added to the app's own list.

    FastAPI keeps an included router as a lazy branch that is matched, then matched again,
    on every request; on a small read that routing was ~10 % of the CPU. Each route is added
    anew, with every option `add_api_route` takes (read off its signature, so options FastAPI
    adds later carry over), so app-level responses and `app.dependency_overrides` apply as
    with include_router (both tested, OpenAPI included).
    """
    for route in router.routes:
        if not isinstance(route, APIRoute):
            raise TypeError(f"{route!r}: only API routes are copied")
        options = {name: getattr(route, name) for name in _ROUTE_OPTIONS if hasattr(route, name)}
        app.router.add_api_route(route.path, route.endpoint, **options)


def bulk_bodies(settings: Settings) -> tuple[BulkBody, ...]:
    timeout = settings.bulk_body_timeout_seconds
    return (
        BulkBody("/api/vectors/import", settings.import_max_bytes, timeout),
        BulkBody("/api/documents", settings.document_max_bytes, timeout),
    )


def create_app(container: Container, limits: RequestLimits | None = None) -> FastAPI:
    """Build the app; its lifespan starts the container's resources and closes them.

    `limits` defaults to MAX_BODY_BYTES with the default header limit and body deadline.
    """
    settings: Settings = container.settings()
    limits = limits or RequestLimits(
        max_body_bytes=settings.max_body_bytes,
        max_header_bytes=settings.max_header_bytes,
        body_timeout_seconds=settings.request_body_timeout_seconds,
        bulk=bulk_bodies(settings),
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            try:
                services = await stack.enter_async_context(running(container))
            except DomainError as exc:
                app.state.startup_error = exc.detail  # one clear line instead of a traceback
                raise
            app.state.services = services
            # Background jobs (large documents) are drained by this process while it serves.
            await stack.enter_async_context(services.worker.running())
            # ... and so is the memory outbox (SPEC §15).
            await stack.enter_async_context(services.memory_worker.running())
            # ... and bulk-loaded snippets are put into the vector index (SPEC §15).
            await stack.enter_async_context(services.graph_worker.running())
            yield

    app = FastAPI(
        title="FastWrap",
        version=package_version(),
        description="Persona chatbots as a service: characters, chat with memory, vector search.",
        lifespan=lifespan,
        responses=errors.documented(*errors.EVERY_ROUTE),
    )
    errors.install(app)
    # Routing tries the routes in this order: the hot paths first (chat, then characters).
    add_routes(app, chat.router)
    for router in OPENAI_ROUTERS:  # OpenAI's protocol (SPEC §12), under its own tag
        add_routes(app, router)
    rest = (characters, vectors, documents, end_users, keys, auth, admin, usage, meta, playground)
    for module in rest:
        add_routes(app, module.router)
    metrics: MetricsExposition | None = container.metrics()
    if metrics is not None:
        add_routes(app, metrics_router(metrics))

    def started_services() -> Services | None:
        started: Services | None = getattr(app.state, "services", None)
        return started

    if settings.rate_limit_enabled:
        app.add_middleware(
            RateLimitMiddleware,
            services=started_services,
            budgets=_budgets(settings),
            trusted=settings.trusted_proxy_networks,
        )
    # Outside the rate limiter, so that its 429s reach the pages of allowed origins.
    app.add_middleware(CorsMiddleware, services=started_services)
    app.add_middleware(RequestLimitsMiddleware, limits=limits)
    if settings.otel_exporter_otlp_endpoint is not None:
        from fastwrap.entrypoints.http.tracing import ServerSpanMiddleware, TracerProvider

        def tracer_provider() -> TracerProvider | None:  # known once start-up has run
            services = getattr(app.state, "services", None)
            return services.tracer_provider if services is not None else None

        app.add_middleware(ServerSpanMiddleware, provider=tracer_provider)
    app.add_middleware(RequestContextMiddleware)  # every response gets an id
    if metrics is not None:  # outermost: counts every answer, the middleware's own included
        app.add_middleware(
            MetricsMiddleware, metrics=HttpMetrics(metrics.registry), routes=app.router.routes
        )
    return app
