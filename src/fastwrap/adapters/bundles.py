"""What each backend family hands the container: its adapters and one health probe."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from fastwrap.ports.bulk import BulkSnippetLoader, GraphBacklog
from fastwrap.ports.conversations import ConversationStore
from fastwrap.ports.documents import DocumentStore
from fastwrap.ports.health import HealthProbe
from fastwrap.ports.jobs import JobQueue
from fastwrap.ports.keys import EndUserTokenStore, KeyStore
from fastwrap.ports.memory import MemoryStore
from fastwrap.ports.rate_limit import RateLimiter
from fastwrap.ports.repositories import (
    CharacterRepository,
    ClientReader,
    ClientRepository,
    VectorIndex,
)
from fastwrap.ports.usage import BudgetCounter, UsageLedger


class ClientStore(ClientRepository, ClientReader, Protocol):
    """One object serves both client ports."""


@dataclass(frozen=True, slots=True)
class Storage:
    """The store of record: in memory, embedded PostgreSQL or a PostgreSQL server."""

    clients: ClientStore
    characters: CharacterRepository
    vectors: VectorIndex
    health: HealthProbe
    adapter: str  # "memory" | "embedded" | "postgres", as /health shows it
    snippet_loader: BulkSnippetLoader
    graph_backlog: GraphBacklog
    documents: DocumentStore
    jobs: JobQueue
    keys: KeyStore
    tokens: EndUserTokenStore
    usage: UsageLedger
    memory: MemoryStore


@dataclass(frozen=True, slots=True)
class LiveState:
    """The short-lived state of live traffic: conversations (with their turn locks) and
    rate-limit counters, which expire by themselves. In-process, or Redis shared by replicas."""

    conversations: ConversationStore
    rate_limiter: RateLimiter
    health: HealthProbe
    adapter: str  # "in-process" | "redis"
    budgets: BudgetCounter
