"""One server span per HTTP request, parent of the PostgreSQL, Redis and model-call spans.

Installed only when OTEL_EXPORTER_OTLP_ENDPOINT is set (this module imports OpenTelemetry's API);
inside the request-id middleware, so the id is known, and around the limits, so a 413 or a 429
is a span too. The span is named by the route template and carries the request id and the
tenant id (once the key is resolved); W3C `traceparent` from the caller is honoured.
"""

from __future__ import annotations

from collections.abc import Callable

from opentelemetry import propagate
from opentelemetry.propagators.textmap import Getter
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer, TracerProvider
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["ServerSpanMiddleware", "TracerProvider"]


class _HeaderGetter(Getter[Scope]):
    def get(self, carrier: Scope, key: str) -> list[str] | None:
        name = key.lower().encode("latin-1")
        values = [v.decode("latin-1") for k, v in carrier.get("headers", ()) if k == name]
        return values or None

    def keys(self, carrier: Scope) -> list[str]:
        return [k.decode("latin-1") for k, _ in carrier.get("headers", ())]


HEADERS = _HeaderGetter()


class ServerSpanMiddleware:
    def __init__(self, app: ASGIApp, provider: Callable[[], TracerProvider | None]) -> None:
        self.app = app
        self._provider = provider
        self._tracer: Tracer | None = None

    def _get_tracer(self) -> Tracer | None:
        if self._tracer is None:
            provider = self._provider()  # known once the app's start-up has run
            self._tracer = provider.get_tracer("fastwrap.http") if provider else None
        return self._tracer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        tracer = self._get_tracer() if scope["type"] == "http" else None
        if tracer is None:
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        attributes = {
            "http.request.method": method,
            "url.path": scope["path"],
            "url.scheme": scope.get("scheme", "http"),
            "client.address": (scope.get("client") or ("", 0))[0],
        }
        with tracer.start_as_current_span(
            method,
            context=propagate.extract(scope, getter=HEADERS),
            kind=SpanKind.SERVER,
            attributes=attributes,
            record_exception=False,  # an exception's text may quote what the caller sent
            set_status_on_exception=False,
        ) as span:
            status = 0

            async def send_traced(message: Message) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = message["status"]
                await send(message)

            try:
                await self.app(scope, receive, send_traced)
            except Exception as exc:
                span.set_attribute("error.type", type(exc).__qualname__)
                status = status or 500
                raise
            finally:
                _describe(span, scope, status)


def _describe(span: Span, scope: Scope, status: int) -> None:
    """What is known once the request is answered: its route, caller and status."""
    route = scope.get("route")
    if route is not None:
        span.update_name(f"{scope['method']} {route.path}")
        span.set_attribute("http.route", route.path)
    state = scope.get("state", {})
    span.set_attribute("fastwrap.request_id", state.get("request_id", ""))
    if "client_id" in state:
        span.set_attribute("fastwrap.tenant_id", state["client_id"])
    if status:
        span.set_attribute("http.response.status_code", status)
    if status >= 500:
        span.set_status(Status(StatusCode.ERROR))
