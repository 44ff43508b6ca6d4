"""The observing wrappers the container puts around ports: Prometheus when METRICS_ENABLED,
OpenTelemetry when OTEL_EXPORTER_OTLP_ENDPOINT is set, neither otherwise.

A wrapper that is off is not installed at all, so it costs nothing; OpenTelemetry is not even
imported unless tracing is configured.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from fastwrap.adapters.bundles import LiveState, Storage
from fastwrap.adapters.memory.conversations import InMemoryConversationStore
from fastwrap.adapters.prometheus.chat_model import MeteredChatModel, ModelCallMetrics
from fastwrap.adapters.prometheus.conversations import (
    ConversationMetrics,
    LiveConversations,
    MeteredConversationStore,
)
from fastwrap.adapters.prometheus.graph import GraphMetrics, MeteredGraphBacklog
from fastwrap.adapters.prometheus.registry import PrometheusMetrics
from fastwrap.ports.bulk import GraphBacklog
from fastwrap.ports.conversations import ConversationStore
from fastwrap.ports.llm import ChatModel

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter


def make_metrics(enabled: bool) -> PrometheusMetrics | None:
    return PrometheusMetrics() if enabled else None


def make_span_exporter(endpoint: str | None, protocol: str) -> SpanExporter | None:
    """The OTLP exporter when an endpoint is set; ConfigurationError if the extra is missing."""
    if endpoint is None:
        return None
    from fastwrap.adapters.otel import require_packages

    require_packages()
    from fastwrap.adapters.otel.tracing import otlp_exporter

    return otlp_exporter(endpoint, protocol)


@asynccontextmanager
async def open_tracing(exporter: SpanExporter | None) -> AsyncIterator[TracerProvider | None]:
    if exporter is None:
        yield None
        return
    from fastwrap.adapters.otel.tracing import open_tracer_provider

    async with open_tracer_provider(exporter) as provider:
        yield provider


def observe_chat_model(
    model: tuple[ChatModel, str],
    metrics: PrometheusMetrics | None,
    tracing: TracerProvider | None,
    capture_content: bool,
) -> ChatModel:
    chat_model, label = model
    if tracing is not None:
        from fastwrap.adapters.otel.chat_model import TracedChatModel

        tracer = tracing.get_tracer("fastwrap.chat_model")
        chat_model = TracedChatModel(chat_model, label, tracer, capture_content)
    if metrics is not None:
        chat_model = MeteredChatModel(chat_model, label, ModelCallMetrics(metrics.registry))
    return chat_model


def observe_graph_backlog(storage: Storage, metrics: PrometheusMetrics | None) -> GraphBacklog:
    if metrics is None:
        return storage.graph_backlog
    return MeteredGraphBacklog(storage.graph_backlog, GraphMetrics(metrics.registry))


def observe_conversations(live: LiveState, metrics: PrometheusMetrics | None) -> ConversationStore:
    store = live.conversations
    if metrics is None:
        return store
    if isinstance(store, InMemoryConversationStore):
        metrics.add_scraped(LiveConversations(store.approximate_count))
    return MeteredConversationStore(store, ConversationMetrics(metrics.registry))
