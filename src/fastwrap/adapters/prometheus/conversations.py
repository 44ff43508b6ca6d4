"""Turn-lock waits, turns refused as busy, and the live conversation count.

The wrapper times how long a turn waits to hold its conversation (the lock, and the read of the
history under it) and counts the turns that gave up (Busy: a 409, or an `error` frame when
streaming), whichever store is configured. The live count is offered only by a store that
keeps it at no cost (the in-process one); Redis would need a SCAN, so it is left out there.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Collection, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from uuid import UUID

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from fastwrap.domain.errors import Busy
from fastwrap.domain.model import Conversation, JsonObject, Message
from fastwrap.ports.conversations import ConversationStore, TurnSlot

LOCK_BUCKETS = (0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class ConversationMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.lock_wait = Histogram(
            "fastwrap_conversation_lock_wait_seconds",
            "Time a turn waited to hold its conversation (lock and history read)",
            buckets=LOCK_BUCKETS,
            registry=registry,
        )
        self.busy = Counter(
            "fastwrap_conversation_busy",
            "Turns refused because another turn held the conversation too long (409 Busy)",
            registry=registry,
        )


class MeteredConversationStore(ConversationStore):
    def __init__(self, inner: ConversationStore, metrics: ConversationMetrics) -> None:
        self._inner = inner
        self._metrics = metrics

    async def get(
        self, client_id: UUID, conversation_id: str, *, recent: int | None = None
    ) -> Conversation | None:
        return await self._inner.get(client_id, conversation_id, recent=recent)

    @asynccontextmanager
    async def turn(
        self, client_id: UUID, conversation_id: str, ttl_seconds: int, *, recent: int | None = None
    ) -> AsyncIterator[TurnSlot]:
        started = time.perf_counter()
        entered = False
        try:
            async with self._inner.turn(
                client_id, conversation_id, ttl_seconds, recent=recent
            ) as slot:
                entered = True
                self._metrics.lock_wait.observe(time.perf_counter() - started)
                yield slot
        except Busy:
            if not entered:  # refused on entering; a Busy from the turn's own work is not ours
                self._metrics.busy.inc()
            raise

    async def create(
        self,
        client_id: UUID,
        conversation_id: str,
        *,
        ttl_seconds: int,
        metadata: JsonObject,
        messages: Sequence[Message],
        at: datetime,
    ) -> Conversation:
        return await self._inner.create(
            client_id,
            conversation_id,
            ttl_seconds=ttl_seconds,
            metadata=metadata,
            messages=messages,
            at=at,
        )

    async def set_metadata(
        self, client_id: UUID, conversation_id: str, metadata: JsonObject
    ) -> Conversation | None:
        return await self._inner.set_metadata(client_id, conversation_id, metadata)

    async def remove(self, client_id: UUID, conversation_id: str, seqs: Collection[int]) -> int:
        return await self._inner.remove(client_id, conversation_id, seqs)

    async def delete(self, client_id: UUID, conversation_id: str) -> bool:
        return await self._inner.delete(client_id, conversation_id)

    async def delete_end_user(self, client_id: UUID, end_user: str) -> int:
        return await self._inner.delete_end_user(client_id, end_user)

    async def delete_all(self, client_id: UUID) -> None:
        await self._inner.delete_all(client_id)


class LiveConversations(Collector):
    """`fastwrap_live_conversations`, read from the store when /metrics is scraped."""

    def __init__(self, count: Callable[[], int]) -> None:
        self._count = count

    def collect(self) -> Iterable[GaugeMetricFamily]:
        yield GaugeMetricFamily(
            "fastwrap_live_conversations",
            "Conversations held in this process (expired ones linger until the next sweep)",
            value=self._count(),
        )
