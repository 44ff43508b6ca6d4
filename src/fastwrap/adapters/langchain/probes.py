"""Health of the model and embedding adapters as /health shows them.

A health check must not spend the operator's tokens or wait on a provider, so it reports the
adapter that was configured at start-up (which already validated the configuration) without a
network call. Provider failures show up as 502/504 on the calls themselves.
"""

from __future__ import annotations

from fastwrap.domain.model import HealthStatus
from fastwrap.ports.health import HealthProbe


class ConfiguredProbe(HealthProbe):
    """Always ok; `adapter` is the label build_chat_model / build_embedder returned."""

    def __init__(self, adapter: str) -> None:
        self._adapter = adapter

    async def check(self) -> HealthStatus:
        return HealthStatus(ok=True, adapter=self._adapter)
