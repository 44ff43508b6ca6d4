"""How each adapter is opened from Settings: the resources and factories the container wires."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import TYPE_CHECKING, Protocol

from fastwrap.adapters.bundles import LiveState, Storage
from fastwrap.adapters.langchain.embeddings import build_embedder
from fastwrap.adapters.langchain.probes import ConfiguredProbe
from fastwrap.adapters.langchain.providers import build_chat_model, resolve_model
from fastwrap.adapters.langchain.router import ModelRouter
from fastwrap.adapters.langchain.tracing import configure_tracing
from fastwrap.adapters.memory.live_state import memory_live_state
from fastwrap.adapters.memory.repositories import memory_storage
from fastwrap.domain.budgets import BudgetGuard
from fastwrap.domain.clients import ClientService
from fastwrap.domain.errors import ConfigurationError
from fastwrap.domain.health import HealthService
from fastwrap.domain.jobs import Doorbell
from fastwrap.domain.logins import LimitedLogins
from fastwrap.domain.memory import MemoryDefaults, MemoryService
from fastwrap.domain.metering import AccountedChatModel
from fastwrap.domain.model import MemorySettings, RateLimit
from fastwrap.domain.rate_leases import LeasedLimiter
from fastwrap.domain.recorder import UsageRecorder
from fastwrap.ports.clock import Clock
from fastwrap.ports.embeddings import Embedder
from fastwrap.ports.llm import ChatModel
from fastwrap.ports.memory import MemoryStore
from fastwrap.ports.rate_limit import RateLimiter
from fastwrap.ports.schema import SchemaAdmin
from fastwrap.ports.usage import UsageLedger
from fastwrap.settings import Settings

if TYPE_CHECKING:
    pass

log = logging.getLogger("fastwrap")


@asynccontextmanager
async def open_database(settings: Settings) -> AsyncIterator[tuple[str, str]]:
    """(DSN, adapter label) of the configured PostgreSQL: DATABASE_URL / POSTGRES_*, or the
    embedded server in FASTWRAP_DATA_DIR, which runs for the duration."""
    dsn = settings.postgres_dsn
    if dsn is not None:
        yield dsn, "postgres"
        return
    from fastwrap.adapters.postgres.embedded import embedded_postgres

    log.warning(
        "DATABASE_URL is unset: using the embedded PostgreSQL in %s", settings.fastwrap_data_dir
    )
    async with embedded_postgres(settings.fastwrap_data_dir) as embedded_dsn:
        yield embedded_dsn, "embedded"


@asynccontextmanager
async def open_schema_admin(settings: Settings) -> AsyncIterator[SchemaAdmin]:
    """The schema of the configured database, for `fastwrap db` and the library's helpers."""
    if settings.fastwrap_storage == "memory":
        raise ConfigurationError("FASTWRAP_STORAGE=memory has no database to administer")
    from fastwrap.adapters.postgres.migrate import PgSchemaAdmin

    async with open_database(settings) as (dsn, _adapter):
        yield PgSchemaAdmin(dsn, settings.embedding_dim)


@asynccontextmanager
async def open_storage(settings: Settings) -> AsyncIterator[Storage]:
    """In memory, a PostgreSQL server (DATABASE_URL / POSTGRES_*), or the embedded default."""
    if settings.fastwrap_storage == "memory":
        log.warning("FASTWRAP_STORAGE=memory: nothing is persisted")
        yield memory_storage()
        return
    from fastwrap.adapters.postgres.storage import open_postgres_storage

    async with (
        open_database(settings) as (dsn, adapter),
        open_postgres_storage(
            dsn,
            adapter=adapter,
            pool_min=settings.db_pool_min,
            pool_max=settings.db_pool_max,
            embedding_dim=settings.embedding_dim,
            ef_search=settings.vector_ef_search,
            lookup_cache_size=settings.lookup_cache_size,
            usage_synchronous_commit=settings.usage_synchronous_commit,
        ) as storage,
    ):
        yield storage


@asynccontextmanager
async def open_live_state(settings: Settings, clock: Clock) -> AsyncIterator[LiveState]:
    """Conversations and rate limits: Redis when configured, else in-process (one process)."""
    url = settings.redis_dsn
    if url is None:
        log.warning("no Redis configured: conversations and rate limits are in-process")
        yield memory_live_state(
            clock,
            lock_wait_seconds=settings.conversation_lock_wait_seconds,
            max_messages=settings.conversation_max_messages,
        )
        return
    from fastwrap.adapters.redis.live_state import open_redis_live_state

    async with open_redis_live_state(
        url,
        clock=clock,
        lock_wait_seconds=settings.conversation_lock_wait_seconds,
        lock_ttl_seconds=settings.conversation_lock_ttl_seconds,
        max_messages=settings.conversation_max_messages,
        key_prefix=settings.redis_key_prefix,
    ) as state:
        yield state


def _secret(value: object) -> str | None:
    getter = getattr(value, "get_secret_value", None)
    return getter() if getter is not None else None


class _Closable(Protocol):
    async def aclose(self) -> None: ...


@asynccontextmanager
async def open_provider_client[T: _Closable](
    build: Callable[[Settings], tuple[T, str]], settings: Settings
) -> AsyncIterator[tuple[T, str]]:
    """One provider client per process (with its label), built at start-up, closed at shutdown."""
    client, label = build(settings)
    try:
        yield client, label
    finally:
        await client.aclose()


def make_chat_model(settings: Settings) -> tuple[ChatModel, str]:
    """MODEL's chat model, and with MODELS a router over one model per entry (each built
    once; MODEL's own shared when it is listed), labelled for /health."""
    traced = configure_tracing(_secret(settings.langchain_api_key), settings.langsmith_tracing_v2)
    default, label = _chat_model(settings, settings.model, settings.model_provider, traced)
    entries = settings.allowed_models
    if not entries:
        if label == "offline":
            log.warning("no MODEL_KEY or MODEL_BASE_URL: replies come from the offline model")
        return default, label
    default_provider = resolve_model(
        settings.model, settings.model_provider, settings.model_base_url
    ).provider
    built: dict[str, ChatModel] = {label: default}
    routed: dict[str, ChatModel] = {}
    labels: dict[str, str] = {}
    for entry in entries:
        provider = resolve_model(entry, None, settings.model_base_url).provider
        same = provider == default_provider  # MODEL_KEY and MODEL_BASE_URL are its provider's
        entry_label = resolve_model(entry, None, settings.model_base_url if same else None).label
        if entry_label not in built:
            built[entry_label], _ = _chat_model(settings, entry, None, traced, same=same)
        routed[entry] = built[entry_label]
        labels[entry] = entry_label
    return ModelRouter(default, routed, labels), label


def _chat_model(
    settings: Settings, model: str | None, provider: str | None, traced: bool, *, same: bool = True
) -> tuple[ChatModel, str]:
    return build_chat_model(
        model=model,
        provider=provider,
        api_key=_secret(settings.model_key) if same else None,
        base_url=settings.model_base_url if same else None,
        timeout=settings.model_timeout_seconds,
        max_retries=settings.model_max_retries,
        temperature=settings.model_temperature,
        traced=traced,
        offline_without_key=same,
        variable="MODEL" if model == settings.model else "MODELS",
    )


def make_embedder(settings: Settings) -> tuple[Embedder, str]:
    provider = (settings.embedding_provider or "openai").lower()
    key = _secret(settings.embedding_key)
    if key is None and provider == "openai":
        key = _secret(settings.model_key)
    embedder, label = build_embedder(
        provider=settings.embedding_provider,
        model=settings.embedding_model,
        dimensions=settings.embedding_dim,
        api_key=key,
        base_url=settings.embedding_base_url,
        batch_size=settings.embedding_batch_size,
        timeout=settings.model_timeout_seconds,
        max_retries=settings.model_max_retries,
    )
    if label.startswith("hashing"):
        log.warning("no embedding key: using the local hashing embedder (lexical similarity)")
    return embedder, label


def _health(
    storage: Storage, live: LiveState, llm: str, embeddings: str, settings: Settings
) -> HealthService:
    """One check per dependency, and one per model of MODELS (`llm:<name>`)."""
    models = {f"llm:{entry}": ConfiguredProbe(entry) for entry in settings.allowed_models}
    return HealthService(
        {
            "postgres": storage.health,
            "redis": live.health,
            "llm": ConfiguredProbe(llm),
            **models,
            "embeddings": ConfiguredProbe(embeddings),
        }
    )


@asynccontextmanager
async def open_usage_recorder(ledger: UsageLedger) -> AsyncIterator[UsageRecorder]:
    """The ledger's group commit; at shutdown the records still pending are written."""
    recorder = UsageRecorder(ledger)
    try:
        yield recorder
    finally:
        await recorder.aclose()


def graph_workers(settings: Settings) -> int:
    """VECTOR_INDEX_WORKERS, held to half the pool (at least one) so requests find connections.
    With 0 nothing indexes in the background (graph_in_background); the CLI drains on one."""
    return max(1, min(settings.vector_index_workers, settings.db_pool_max // 2))


def graph_in_background(settings: Settings) -> bool:
    """Whether `fastwrap serve` (and the library) index bulk loads in the background."""
    return settings.vector_index_workers > 0


def memory_defaults(settings: Settings) -> MemoryDefaults:
    """The VECTOR_CHAT_* variables, for characters that set no `memory` (SPEC §15)."""
    remembering = None
    if settings.vector_chat_store_enabled:
        recalled = settings.vector_chat_memory_top_k_chat
        top_k = recalled if settings.vector_chat_memory_enabled else 0
        remembering = MemorySettings(enabled=True, top_k=top_k)
    return MemoryDefaults(
        settings=remembering,
        max_chars=settings.vector_chat_memory_max_chars,
        label=settings.vector_chat_entity_type,
    )


@asynccontextmanager
async def open_memory_service(
    store: MemoryStore, embedder: Embedder, defaults: MemoryDefaults, doorbell: Doorbell
) -> AsyncIterator[MemoryService]:
    """Memory's outbox writer; at shutdown the items still pending are written."""
    memory = MemoryService(
        store=store, embedder=embedder, defaults=defaults, on_written=doorbell.ring
    )
    try:
        yield memory
    finally:
        await memory.flush()


def account_chat_model(
    model: ChatModel,
    recorder: UsageRecorder,
    budgets: BudgetGuard,
    clock: Clock,
    default_model: tuple[ChatModel, str],
    enabled: bool,
) -> ChatModel:
    """Every call on someone's account recorded and charged (SPEC §13), outermost, so the
    latency it records is the call's as the turn sees it."""
    if not enabled:
        return model
    routed, label = default_model
    return AccountedChatModel(
        model,
        recorder=recorder,
        budgets=budgets,
        clock=clock,
        default_model=label,
        labels=routed.labels if isinstance(routed, ModelRouter) else None,
    )


def request_limiter(live: LiveState, clock: Clock, settings: Settings) -> RateLimiter:
    """The requests' limiter (SPEC §8): Redis's counters, leased a few requests at a time
    (domain/rate_leases.py); the in-process counters need no round trip, so no lease."""
    if settings.redis_dsn is None or settings.rate_limit_lease_ms == 0:
        return live.rate_limiter
    lifetime = timedelta(milliseconds=settings.rate_limit_lease_ms)
    return LeasedLimiter(live.rate_limiter, clock, lifetime)


def _logins(clients: ClientService, live: LiveState, settings: Settings) -> LimitedLogins:
    return LimitedLogins(
        clients,
        live.rate_limiter if settings.rate_limit_enabled else None,
        RateLimit.parse(settings.rate_limit_login_failures),
        fail_open=settings.rate_limit_fail_open,
    )
