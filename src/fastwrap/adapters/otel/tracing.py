"""The tracer provider of one app: an OTLP exporter behind a batch processor, and the asyncpg
and Redis drivers instrumented for as long as the app runs.

The provider is handed to each instrumentation rather than set as the process's global one, so
that an embedding application keeps its own, and so that the drivers are patched only while a
traced app runs (and not at all when tracing is off).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import PackageNotFoundError, version

from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
from opentelemetry.instrumentation.redis import RedisInstrumentor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter

from fastwrap.domain.errors import ConfigurationError

SERVICE_NAME = "fastwrap"


def otlp_exporter(endpoint: str, protocol: str) -> SpanExporter:
    """OTLP over HTTP (`endpoint` is the collector's base URL, e.g. :4318) or gRPC (:4317)."""
    if protocol == "grpc":
        try:
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
                OTLPSpanExporter as GrpcExporter,
            )
        except ImportError as exc:
            raise ConfigurationError(
                "OTEL_EXPORTER_OTLP_PROTOCOL=grpc needs opentelemetry-exporter-otlp-proto-grpc; "
                "install it with `uv sync --extra otel` or `pip install fastwrap[otel]`"
            ) from exc
        return GrpcExporter(endpoint=endpoint)
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    # The variable the SDK would read names the collector; its traces path is ours to add,
    # unless the signal-specific variable says exactly where traces go.
    explicit = os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    return OTLPSpanExporter(endpoint=None if explicit else endpoint.rstrip("/") + "/v1/traces")


def service_resource() -> Resource:
    """OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES when set, else service.name=fastwrap."""
    try:
        attributes = {"service.version": version("fastwrap")}
    except PackageNotFoundError:
        attributes = {}
    resource = Resource.create(attributes)
    if str(resource.attributes.get("service.name", "")).startswith("unknown_service"):
        resource = resource.merge(Resource({"service.name": SERVICE_NAME}))
    return resource


@asynccontextmanager
async def open_tracer_provider(exporter: SpanExporter) -> AsyncIterator[TracerProvider]:
    provider = TracerProvider(resource=service_resource())
    provider.add_span_processor(BatchSpanProcessor(exporter))
    drivers = (AsyncPGInstrumentor(), RedisInstrumentor())  # type: ignore[no-untyped-call]
    for driver in drivers:
        driver.instrument(tracer_provider=provider)
    try:
        yield provider
    finally:
        for driver in drivers:
            driver.uninstrument()
        # Flushes what is queued; blocking (up to the exporter's timeout), so off the loop.
        await asyncio.to_thread(provider.shutdown)
