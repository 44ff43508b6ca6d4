"""The in-memory store of record (FASTWRAP_STORAGE=memory and unit tests): nothing persists."""

from __future__ import annotations

from fastwrap.adapters.bundles import Storage
from fastwrap.adapters.memory.bulk import InMemoryGraphBacklog, InMemorySnippetLoader
from fastwrap.adapters.memory.characters import InMemoryCharacterRepository
from fastwrap.adapters.memory.clients import InMemoryClientRepository, MemoryState
from fastwrap.adapters.memory.documents import InMemoryDocumentStore
from fastwrap.adapters.memory.jobs import InMemoryJobQueue
from fastwrap.adapters.memory.keys import InMemoryEndUserTokenStore, InMemoryKeyStore
from fastwrap.adapters.memory.memory import InMemoryMemoryStore
from fastwrap.adapters.memory.usage import InMemoryUsageLedger
from fastwrap.adapters.memory.vectors import InMemoryVectorIndex
from fastwrap.domain.model import HealthStatus
from fastwrap.ports.health import HealthProbe

__all__ = [
    "InMemoryCharacterRepository",
    "InMemoryClientRepository",
    "InMemoryHealthProbe",
    "InMemoryVectorIndex",
    "MemoryState",
    "memory_storage",
]


class InMemoryHealthProbe(HealthProbe):
    """Memory is always there while the process is."""

    async def check(self) -> HealthStatus:
        return HealthStatus(ok=True, adapter="memory")


def memory_storage(state: MemoryState | None = None) -> Storage:
    """Three repositories over one state, so deleting a client cascades as in PostgreSQL."""
    state = state or MemoryState()
    return Storage(
        clients=InMemoryClientRepository(state),
        characters=InMemoryCharacterRepository(state),
        vectors=InMemoryVectorIndex(state),
        health=InMemoryHealthProbe(),
        adapter="memory",
        snippet_loader=InMemorySnippetLoader(state),
        graph_backlog=InMemoryGraphBacklog(state),
        documents=InMemoryDocumentStore(state),
        jobs=InMemoryJobQueue(state),
        keys=InMemoryKeyStore(state),
        tokens=InMemoryEndUserTokenStore(state),
        usage=InMemoryUsageLedger(),
        memory=InMemoryMemoryStore(state),
    )
