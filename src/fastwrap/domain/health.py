"""The health of every dependency at once, as /health and `fastwrap health` report it."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass

from fastwrap.domain.model import HealthStatus
from fastwrap.ports.health import HealthProbe


@dataclass(frozen=True, slots=True)
class HealthReport:
    checks: Mapping[str, HealthStatus]

    @property
    def ok(self) -> bool:
        return all(status.ok for status in self.checks.values())


class HealthService:
    def __init__(self, probes: Mapping[str, HealthProbe]) -> None:
        self._probes = dict(probes)

    async def report(self) -> HealthReport:
        names = list(self._probes)
        statuses = await asyncio.gather(*(self._probes[name].check() for name in names))
        return HealthReport(dict(zip(names, statuses, strict=True)))
