"""The embeddable facade: FastWrap's use cases in your own async program, no HTTP involved.

    import fastwrap

    async with fastwrap.open(fastwrap_storage="memory") as app:
        issued = await app.clients.sign_up("ada@example.com", "Correct-Horse-9-battery")
        ...

It is built on the same container as the API and the CLI, so it reads the same settings and
picks the same adapters. Everything heavy is imported inside the functions: `import fastwrap`
stays cheap for programs that only touch it now and then.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastwrap.container import Container, Services
    from fastwrap.domain.access import AccessService
    from fastwrap.domain.characters import CharacterService
    from fastwrap.domain.chat import ChatService
    from fastwrap.domain.client_settings import ClientSettingsService
    from fastwrap.domain.clients import ClientService
    from fastwrap.domain.documents import DocumentService
    from fastwrap.domain.end_users import EndUserService
    from fastwrap.domain.health import HealthService
    from fastwrap.domain.imports import ImportService
    from fastwrap.domain.reports import UsageReports
    from fastwrap.domain.vectors import VectorService
    from fastwrap.ports.schema import MigrationStatus
    from fastwrap.settings import Settings

__all__ = ["FastWrap", "migrate", "migration_status", "open", "reset_embeddings"]


@dataclass(frozen=True, slots=True)
class FastWrap:
    """A running FastWrap: the use cases, with the container that built them.

    Every service method is a coroutine and raises `fastwrap.DomainError` subclasses
    (`NotFound`, `Conflict`, `Invalid`, `Unauthorized`, `UpstreamFailed`, ...) for outcomes a
    caller should handle.
    """

    services: Services
    container: Container

    @property
    def settings(self) -> Settings:
        """The settings this FastWrap was built from."""
        settings: Settings = self.container.settings()
        return settings

    @property
    def clients(self) -> ClientService:
        """Tenants: `sign_up`, `log_in`, `authenticate(api_key)`, `regenerate_key`, admin `list`."""
        return self.services.clients

    @property
    def keys(self) -> AccessService:
        """Keys and end-user tokens (SPEC §13): `authenticate(key_or_token)` (a `Principal`),
        `create_key(holder, name, scopes, expires_at)` (`fastwrap.Principal.of_primary(client)`
        acts as the client's primary key), `list_keys`, `revoke_key`, and `issue_token`."""
        return self.services.access

    @property
    def client_settings(self) -> ClientSettingsService:
        """A tenant's own settings: `update(client_id, allowed_origins=...,
        end_user_daily_tokens=...)`; the current ones are on the `Client`
        (`fastwrap.ClientSettings.of(client)`)."""
        return self.services.client_settings

    @property
    def characters(self) -> CharacterService:
        """Personas of one tenant: `create`, `get`, `list`, `update`, `delete`."""
        return self.services.characters

    @property
    def chat(self) -> ChatService:
        """Chat turns: `turn` (whole reply), `stream_turn` (deltas, then the result),
        `conversation` (history) and `forget`."""
        return self.services.chat

    @property
    def vectors(self) -> VectorService:
        """A tenant's snippets: batched `upsert`, filtered semantic `search`, `delete`."""
        return self.services.vectors

    @property
    def documents(self) -> DocumentService:
        """A tenant's documents: `ingest` (split, embed and store now, with progress), `add`
        (a job in the background when large; only a `fastwrap serve` process drains jobs),
        `list_page`, `delete`."""
        return self.services.documents

    @property
    def imports(self) -> ImportService:
        """Bulk NDJSON import, all-or-nothing: `run(client_id, lines)`."""
        return self.services.imports

    @property
    def usage(self) -> UsageReports:
        """The usage ledger's reports: `report(client_id, since=, until=, group_by=)` (one row
        per day, character, end user, key or model; `client_id` None: every client)."""
        return self.services.usage

    @property
    def end_users(self) -> EndUserService:
        """A tenant's end users (SPEC §15): `memory(client_id, end_user, cursor, limit)` lists
        what the characters remember of one; `erase(client_id, end_user)` forgets them."""
        return self.services.end_users

    @property
    def health(self) -> HealthService:
        """`report()`: every dependency's status and the adapter in use."""
        return self.services.health


def resolve_settings(settings: Settings | None, overrides: dict[str, Any]) -> Settings:
    """`settings` (or the environment and .env when None) with `overrides` applied and checked."""
    from fastwrap.settings import Settings

    if settings is None:
        return Settings(**overrides)
    if not overrides:
        return settings
    # model_validate checks the merged values without reading the environment a second time.
    return Settings.model_validate(settings.model_dump() | overrides)


@asynccontextmanager
async def open(
    settings: Settings | None = None,
    *,
    container: Container | None = None,
    **overrides: Any,
) -> AsyncIterator[FastWrap]:
    """Start FastWrap for the duration of the `async with` block, and always shut it down.

    - `fastwrap.open()` reads the environment and `.env`, as `fastwrap serve` does (so with no
      configuration: the embedded PostgreSQL in `./.fastwrap`, the offline model, ...).
    - `fastwrap.open(settings)` uses a `fastwrap.Settings` you built.
    - Keyword overrides are settings fields, e.g. `fastwrap.open(fastwrap_storage="memory",
      bcrypt_rounds=4)`; they apply on top of `settings` (or of the environment).
    - `fastwrap.open(container=...)` runs a container you prepared with
      `fastwrap.make_container(settings)`, on which any adapter can be replaced before it
      starts, e.g. `container.chat_model.override(providers.Object((my_model, "mine")))`,
      `container.storage.override(...)`, `container.live_state.override(...)`,
      `container.embedder.override(...)` (dependency-injector providers).

    Only one process may use an embedded data dir at a time; a second one gets a
    `ConfigurationError` naming the holder.
    """
    from fastwrap.container import make_container, running

    if container is None:
        container = make_container(resolve_settings(settings, overrides))
    elif settings is not None or overrides:
        raise TypeError("pass settings (and overrides) or a container, not both")
    async with (
        running(container) as services,
        services.memory_worker.running(),
        services.graph_worker.running(),
    ):
        # Memory items are embedded, and bulk-loaded snippets indexed, in the background while
        # the block runs (SPEC §15).
        yield FastWrap(services=services, container=container)


# --- database administration (what `fastwrap db` runs) ---------------------------------------


def database_label(settings: Settings) -> str:
    """Where `fastwrap db` commands act, for humans (never shows a password)."""
    from urllib.parse import urlsplit

    if settings.fastwrap_storage == "memory":
        return "memory"
    dsn = settings.postgres_dsn
    if dsn is None:
        return f"the embedded PostgreSQL in {settings.fastwrap_data_dir}"
    parts = urlsplit(dsn)
    where = parts.hostname or "local socket"
    return f"PostgreSQL at {where}{':' + str(parts.port) if parts.port else ''}{parts.path}"


async def migrate(settings: Settings | None = None) -> list[str]:
    """Apply pending migrations (as start-up does); returns the names applied, oldest first.

    Also refuses an EMBEDDING_DIM that does not match the stored vectors (ConfigurationError).
    """
    from fastwrap.container.resources import open_schema_admin

    async with open_schema_admin(resolve_settings(settings, {})) as schema:
        return await schema.migrate()


async def migration_status(settings: Settings | None = None) -> MigrationStatus:
    """Applied migrations (with dates) and pending ones; changes nothing."""
    from fastwrap.container.resources import open_schema_admin

    async with open_schema_admin(resolve_settings(settings, {})) as schema:
        return await schema.status()


async def reset_embeddings(settings: Settings | None = None) -> int:
    """Delete every stored snippet and retype the vector column to EMBEDDING_DIM.

    The way out after changing EMBEDDING_DIM: import the snippets again afterwards. Returns how
    many snippets were deleted.
    """
    from fastwrap.container.resources import open_schema_admin

    async with open_schema_admin(resolve_settings(settings, {})) as schema:
        return await schema.reset_embeddings()
