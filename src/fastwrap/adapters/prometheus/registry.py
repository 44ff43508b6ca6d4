"""Where this process records its metrics, and the text that /metrics serves.

Under `fastwrap serve --workers N` the CLI sets PROMETHEUS_MULTIPROC_DIR before the workers
start: prometheus-client then keeps every counter and histogram in per-process files there, and
any worker's /metrics adds up all of them. Values read at scrape time from this process's own
state (the in-process conversation count) live in a second registry, never in those files.
"""

from __future__ import annotations

import os

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROCESS_DIR) or None


class PrometheusMetrics:
    """The registry the wrappers and the HTTP middleware record into, and its exposition."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._scraped = CollectorRegistry(auto_describe=True)  # read at scrape time, this process

    def add_scraped(self, collector: Collector) -> None:
        """A collector that reads live state when /metrics is scraped (this process only)."""
        self._scraped.register(collector)

    def exposition(self) -> bytes:
        path = multiprocess_dir()
        if path is None:
            recorded = generate_latest(self.registry)
        else:
            every_process = CollectorRegistry()
            MultiProcessCollector(every_process, path=path)  # type: ignore[no-untyped-call]
            recorded = generate_latest(every_process)
        return recorded + generate_latest(self._scraped)
