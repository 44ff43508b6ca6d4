"""Bulk-loaded snippets put into the vector index by the graph workers (SPEC §15).

A counter, so it adds up across `fastwrap serve --workers N` and its rate is how fast the
backlog drains; what is still waiting is a count in PostgreSQL (docs/operations.md).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter

from fastwrap.ports.bulk import GraphBacklog


class GraphMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.indexed = Counter(
            "fastwrap_vector_rows_indexed",
            "Bulk-loaded snippets the graph workers put into the vector index",
            registry=registry,
        )


class MeteredGraphBacklog(GraphBacklog):
    def __init__(self, inner: GraphBacklog, metrics: GraphMetrics) -> None:
        self._inner = inner
        self._metrics = metrics

    async def pending(self) -> int:
        return await self._inner.pending()

    async def index_some(self, limit: int) -> int:
        indexed = await self._inner.index_some(limit)
        self._metrics.indexed.inc(indexed)
        return indexed
