"""Health of one dependency, as /health shows it."""

from __future__ import annotations

from typing import Protocol

from fastwrap.domain.model import HealthStatus


class HealthProbe(Protocol):
    async def check(self) -> HealthStatus:
        """Never raises: a failure is reported as ok=False with a detail."""
        ...
