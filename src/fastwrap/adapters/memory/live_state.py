"""The in-process live state: conversations and rate limits for a single process."""

from __future__ import annotations

from fastwrap.adapters.bundles import LiveState
from fastwrap.adapters.memory.conversations import InMemoryConversationStore
from fastwrap.adapters.memory.rate_limit import InMemoryRateLimiter
from fastwrap.adapters.memory.usage import InMemoryBudgetCounter
from fastwrap.domain.model import HealthStatus
from fastwrap.ports.clock import Clock
from fastwrap.ports.health import HealthProbe

ADAPTER = "in-process"


class InProcessHealthProbe(HealthProbe):
    """Nothing to reach: the state lives in this process, so it is up whenever we are."""

    async def check(self) -> HealthStatus:
        return HealthStatus(ok=True, adapter=ADAPTER)


def memory_live_state(clock: Clock, *, lock_wait_seconds: float, max_messages: int) -> LiveState:
    return LiveState(
        conversations=InMemoryConversationStore(
            clock, lock_wait_seconds=lock_wait_seconds, max_messages=max_messages
        ),
        rate_limiter=InMemoryRateLimiter(clock),
        health=InProcessHealthProbe(),
        adapter=ADAPTER,
        budgets=InMemoryBudgetCounter(clock),
    )
