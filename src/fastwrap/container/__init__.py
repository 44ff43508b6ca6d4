"""The composition root: the only module that picks adapters (from Settings) and wires use cases.

The HTTP app, the CLI and the library facade all get their services from here. Pools and clients
are Resources over async context managers, so whoever starts the container also closes them.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dependency_injector import containers, providers

from fastwrap.adapters.clock import SystemClock
from fastwrap.adapters.json_lines import decode_line
from fastwrap.adapters.langchain.documents import LangChainDocumentReader
from fastwrap.adapters.observability import (
    make_metrics,
    make_span_exporter,
    observe_chat_model,
    observe_conversations,
    observe_graph_backlog,
    open_tracing,
)
from fastwrap.adapters.security.hashing import BcryptPasswordHasher, Sha256ApiKeys
from fastwrap.container.resources import (
    _health,
    _logins,
    _secret,
    account_chat_model,
    graph_in_background,
    graph_workers,
    make_chat_model,
    make_embedder,
    memory_defaults,
    open_live_state,
    open_memory_service,
    open_provider_client,
    open_storage,
    open_usage_recorder,
    request_limiter,
)
from fastwrap.domain.access import AccessService
from fastwrap.domain.budgets import BudgetGuard
from fastwrap.domain.characters import CharacterService
from fastwrap.domain.chat import ChatService, HistoryBudget
from fastwrap.domain.client_settings import ClientSettingsService
from fastwrap.domain.clients import ClientService
from fastwrap.domain.conversations import ConversationService
from fastwrap.domain.documents import JOB_KIND, DocumentJob, DocumentService
from fastwrap.domain.end_users import EndUserService
from fastwrap.domain.graph_worker import GraphWorker
from fastwrap.domain.health import HealthService
from fastwrap.domain.imports import ImportService
from fastwrap.domain.internal_key import InternalKey
from fastwrap.domain.jobs import Doorbell, JobService, JobWorker
from fastwrap.domain.key_usage import KeyUsage
from fastwrap.domain.logins import LimitedLogins
from fastwrap.domain.memory_worker import MemoryWorker
from fastwrap.domain.reports import UsageReports
from fastwrap.domain.responses import ResponseService
from fastwrap.domain.vectors import VectorService
from fastwrap.ports.rate_limit import RateLimiter
from fastwrap.settings import Settings

if TYPE_CHECKING:
    from opentelemetry.trace import TracerProvider

log = logging.getLogger("fastwrap")


@dataclass(frozen=True, slots=True)
class Services:
    """Everything an entry point needs, resolved once per process."""

    clients: ClientService
    logins: LimitedLogins
    access: AccessService
    client_settings: ClientSettingsService
    key_usage: KeyUsage
    characters: CharacterService
    chat: ChatService
    responses: ResponseService
    conversations: ConversationService
    vectors: VectorService
    imports: ImportService
    documents: DocumentService
    jobs: JobService
    worker: JobWorker
    health: HealthService
    rate_limiter: RateLimiter
    internal_key: InternalKey
    usage: UsageReports
    budgets: BudgetGuard
    end_users: EndUserService
    memory_worker: MemoryWorker
    graph_worker: GraphWorker
    tracer_provider: TracerProvider | None = None  # set when OTEL_EXPORTER_OTLP_ENDPOINT is


class Container(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=Settings)
    clock = providers.Singleton(SystemClock)

    storage = providers.Resource(open_storage, settings)
    live_state = providers.Resource(open_live_state, settings, clock)
    chat_model = providers.Resource(open_provider_client, make_chat_model, settings)
    embedder = providers.Resource(open_provider_client, make_embedder, settings)

    # Observability (SPEC §14): wrappers around the ports, installed only when switched on.
    metrics = providers.Singleton(make_metrics, settings.provided.metrics_enabled)
    span_exporter = providers.Singleton(
        make_span_exporter,
        settings.provided.otel_exporter_otlp_endpoint,
        settings.provided.otel_exporter_otlp_protocol,
    )
    tracing = providers.Resource(open_tracing, span_exporter)
    observed_model = providers.Singleton(
        observe_chat_model,
        chat_model,
        metrics,
        tracing,
        settings.provided.otel_capture_content,
    )
    # Usage and budgets (SPEC §13).
    usage_recorder = providers.Resource(open_usage_recorder, storage.provided.usage)
    budget_guard = providers.Singleton(
        BudgetGuard,
        counter=live_state.provided.budgets,
        clients=storage.provided.clients,
        characters=storage.provided.characters,
        clock=clock,
    )
    model = providers.Singleton(
        account_chat_model,
        observed_model,
        usage_recorder,
        budget_guard,
        clock,
        chat_model,
        settings.provided.usage_ledger_enabled,
    )
    conversations = providers.Singleton(observe_conversations, live_state, metrics)

    hasher = providers.Singleton(BcryptPasswordHasher, rounds=settings.provided.bcrypt_rounds)
    api_keys = providers.Singleton(Sha256ApiKeys)

    client_service = providers.Singleton(
        ClientService,
        writer=storage.provided.clients,
        reader=storage.provided.clients,
        conversations=conversations,
        hasher=hasher,
        keys=api_keys,
        clock=clock,
    )
    logins = providers.Singleton(_logins, client_service, live_state, settings)
    key_usage = providers.Singleton(KeyUsage, storage.provided.keys)
    access_service = providers.Singleton(
        AccessService,
        keys=storage.provided.keys,
        tokens=storage.provided.tokens,
        characters=storage.provided.characters,
        secrets=api_keys,
        usage=key_usage,
        clock=clock,
    )
    client_settings_service = providers.Singleton(
        ClientSettingsService,
        writer=storage.provided.clients,
        reader=storage.provided.clients,
        clock=clock,
    )
    character_service = providers.Singleton(
        CharacterService,
        characters=storage.provided.characters,
        clock=clock,
        allowed_models=settings.provided.allowed_models,
    )
    vector_service = providers.Singleton(
        VectorService, index=storage.provided.vectors, embedder=embedder.provided[0], clock=clock
    )
    # Bulk loads' index inserts, run after they are published (SPEC §15, graph_worker.py).
    graph_doorbell = providers.Singleton(Doorbell)
    graph_worker = providers.Singleton(
        GraphWorker,
        providers.Singleton(observe_graph_backlog, storage, metrics),
        workers=providers.Callable(graph_workers, settings),
        poll_seconds=settings.provided.job_poll_seconds,
        doorbell=graph_doorbell,
        background=providers.Callable(graph_in_background, settings),
    )
    import_service = providers.Singleton(
        ImportService,
        loader=storage.provided.snippet_loader,
        embedder=embedder.provided[0],
        clock=clock,
        decode=decode_line,
        graph_doorbell=graph_doorbell,
    )
    doorbell = providers.Singleton(Doorbell)
    document_service = providers.Singleton(
        DocumentService,
        store=storage.provided.documents,
        reader=providers.Singleton(LangChainDocumentReader),
        embedder=embedder.provided[0],
        jobs=storage.provided.jobs,
        clock=clock,
        inline_max_bytes=settings.provided.document_inline_max_bytes,
        doorbell=doorbell,
        graph_doorbell=graph_doorbell,
    )
    job_worker = providers.Singleton(
        JobWorker,
        storage.provided.jobs,
        providers.Dict({JOB_KIND: providers.Singleton(DocumentJob, document_service)}),
        clock,
        lease_seconds=settings.provided.job_lease_seconds,
        poll_seconds=settings.provided.job_poll_seconds,
        doorbell=doorbell,
    )
    # Long-term memory (SPEC §15): the outbox writer, its worker, and erasure.
    memory_doorbell = providers.Singleton(Doorbell)
    memory_service = providers.Resource(
        open_memory_service,
        storage.provided.memory,
        embedder.provided[0],
        providers.Callable(memory_defaults, settings),
        memory_doorbell,
    )
    memory_worker = providers.Singleton(
        MemoryWorker,
        storage.provided.memory,
        embedder.provided[0],
        clock,
        retention_days=settings.provided.memory_retention_days,
        lease_seconds=settings.provided.job_lease_seconds,
        poll_seconds=settings.provided.job_poll_seconds,
        doorbell=memory_doorbell,
    )
    end_user_service = providers.Singleton(
        EndUserService,
        memory=memory_service,
        conversations=conversations,
        usage=storage.provided.usage,
    )
    chat_service = providers.Singleton(
        ChatService,
        characters=storage.provided.characters,
        conversations=conversations,
        model=model,
        vectors=vector_service,
        clock=clock,
        default_ttl=settings.provided.conversation_ttl_seconds,
        budgets=budget_guard,
        memory=memory_service,
        budget=providers.Factory(
            HistoryBudget,
            max_messages=settings.provided.history_max_messages,
            max_chars=settings.provided.history_max_chars,
        ),
    )
    response_service = providers.Singleton(
        ResponseService, chat=chat_service, conversations=conversations, clock=clock
    )
    conversation_service = providers.Singleton(
        ConversationService,
        conversations=conversations,
        clock=clock,
        default_ttl=settings.provided.conversation_ttl_seconds,
    )
    health_service = providers.Singleton(
        _health, storage, live_state, chat_model.provided[1], embedder.provided[1], settings
    )
    services = providers.Singleton(
        Services,
        clients=client_service,
        logins=logins,
        access=access_service,
        client_settings=client_settings_service,
        key_usage=key_usage,
        characters=character_service,
        chat=chat_service,
        responses=response_service,
        conversations=conversation_service,
        vectors=vector_service,
        imports=import_service,
        documents=document_service,
        jobs=providers.Singleton(JobService, storage.provided.jobs),
        worker=job_worker,
        health=health_service,
        rate_limiter=providers.Singleton(request_limiter, live_state, clock, settings),
        internal_key=providers.Singleton(
            InternalKey, providers.Callable(_secret, settings.provided.fastwrap_api_key)
        ),
        tracer_provider=tracing,
        usage=providers.Singleton(UsageReports, ledger=storage.provided.usage, clock=clock),
        budgets=budget_guard,
        end_users=end_user_service,
        memory_worker=memory_worker,
        graph_worker=graph_worker,
    )


@asynccontextmanager
async def running(container: Container) -> AsyncIterator[Services]:
    """Start the container's resources, hand out the services, and always close them.

    One resource at a time, not `init_resources()`'s gather: when one fails to start (a missing
    extra, a database that is down), none is left starting in the background, to be cancelled
    half-way as the process exits (dependency-injector then logs an InvalidStateError).
    """
    try:
        for resource in container.traverse(types=[providers.Resource]):
            started = resource.init()
            if inspect.isawaitable(started):
                await started
        services = container.services()
        if not isinstance(services, Services):
            services = await services
        async with services.key_usage.running():  # keys' last_used_at, written off the path
            yield services
    finally:
        stopped = container.shutdown_resources()
        if stopped is not None:
            await stopped


def make_container(settings: Settings) -> Container:
    return Container(settings=settings)
