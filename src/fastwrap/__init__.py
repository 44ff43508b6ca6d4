"""FastWrap: persona chatbots as a service, as a REST API, an admin CLI and a library.

    import fastwrap

    async with fastwrap.open(fastwrap_storage="memory") as app:
        issued = await app.clients.sign_up("ada@example.com", "Correct-Horse-9-battery")
        character = await app.characters.create(
            issued.client.id, fastwrap.CharacterDraft(agent_role="You are a pirate.")
        )
        result = await app.chat.turn(
            issued.client.id,
            fastwrap.TurnRequest(character_id=character.id, content="Ahoy?"),
        )
        print(result.reply.content)

`fastwrap.open` is documented in `fastwrap.library`. The names below are imported on first use,
so `import fastwrap` costs almost nothing (pydantic, LangChain and the database drivers load
only when FastWrap is opened). Each public name is written twice: once for type checkers (the
`X as X` re-exports) and once in `_HOMES` for the lazy import; `__all__` is built from `_HOMES`,
and a test holds the two lists equal.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastwrap.container import (
        Container as Container,
        Services as Services,
        make_container as make_container,
    )
    from fastwrap.domain.access import (
        AccessService as AccessService,
        IssuedApiKey as IssuedApiKey,
        IssuedToken as IssuedToken,
    )
    from fastwrap.domain.characters import (
        UNSET as UNSET,
        CharacterDraft as CharacterDraft,
        CharacterPatch as CharacterPatch,
        CharacterService as CharacterService,
    )
    from fastwrap.domain.chat import (
        ChatService as ChatService,
        TurnRequest as TurnRequest,
        TurnResult as TurnResult,
    )
    from fastwrap.domain.client_settings import (
        ClientSettings as ClientSettings,
        ClientSettingsService as ClientSettingsService,
    )
    from fastwrap.domain.clients import (
        ClientChanges as ClientChanges,
        ClientService as ClientService,
        IssuedKey as IssuedKey,
    )
    from fastwrap.domain.errors import (
        Busy as Busy,
        ConfigurationError as ConfigurationError,
        Conflict as Conflict,
        DomainError as DomainError,
        Forbidden as Forbidden,
        Invalid as Invalid,
        NotFound as NotFound,
        PolicyViolation as PolicyViolation,
        RateLimited as RateLimited,
        Unauthorized as Unauthorized,
        Unavailable as Unavailable,
        UpstreamFailed as UpstreamFailed,
        UpstreamTimeout as UpstreamTimeout,
    )
    from fastwrap.domain.health import HealthReport as HealthReport, HealthService as HealthService
    from fastwrap.domain.keys import (
        SCOPES as SCOPES,
        ApiKey as ApiKey,
        EndUserToken as EndUserToken,
        MissingScope as MissingScope,
        Principal as Principal,
    )
    from fastwrap.domain.model import (
        NO_OPTIONS as NO_OPTIONS,
        Caller as Caller,
        Character as Character,
        ChatDelta as ChatDelta,
        ChatReply as ChatReply,
        Client as Client,
        Conversation as Conversation,
        HealthStatus as HealthStatus,
        Knowledge as Knowledge,
        Message as Message,
        ModelOptions as ModelOptions,
        Page as Page,
        PromptMessage as PromptMessage,
        SearchHit as SearchHit,
        Snippet as Snippet,
        SnippetInput as SnippetInput,
        Usage as Usage,
    )
    from fastwrap.domain.vectors import VectorService as VectorService
    from fastwrap.library import (
        FastWrap as FastWrap,
        migrate as migrate,
        migration_status as migration_status,
        open as open,
        reset_embeddings as reset_embeddings,
    )
    from fastwrap.ports.embeddings import Embedder as Embedder
    from fastwrap.ports.llm import ChatModel as ChatModel
    from fastwrap.settings import Settings as Settings


_HOMES = {
    "fastwrap.library": ("FastWrap", "open", "migrate", "migration_status", "reset_embeddings"),
    "fastwrap.settings": ("Settings",),
    "fastwrap.container": ("Container", "Services", "make_container"),
    "fastwrap.domain.errors": (
        "Busy",
        "ConfigurationError",
        "Conflict",
        "DomainError",
        "Forbidden",
        "Invalid",
        "NotFound",
        "PolicyViolation",
        "RateLimited",
        "Unauthorized",
        "Unavailable",
        "UpstreamFailed",
        "UpstreamTimeout",
    ),
    "fastwrap.domain.model": (
        "NO_OPTIONS",
        "Caller",
        "Character",
        "ChatDelta",
        "ChatReply",
        "Client",
        "Conversation",
        "HealthStatus",
        "Knowledge",
        "Message",
        "ModelOptions",
        "Page",
        "PromptMessage",
        "SearchHit",
        "Snippet",
        "SnippetInput",
        "Usage",
    ),
    "fastwrap.domain.clients": ("ClientChanges", "ClientService", "IssuedKey"),
    "fastwrap.domain.access": ("AccessService", "IssuedApiKey", "IssuedToken"),
    "fastwrap.domain.client_settings": ("ClientSettings", "ClientSettingsService"),
    "fastwrap.domain.keys": ("SCOPES", "ApiKey", "EndUserToken", "MissingScope", "Principal"),
    "fastwrap.domain.characters": ("UNSET", "CharacterDraft", "CharacterPatch", "CharacterService"),
    "fastwrap.domain.chat": ("ChatService", "TurnRequest", "TurnResult"),
    "fastwrap.domain.vectors": ("VectorService",),
    "fastwrap.domain.health": ("HealthReport", "HealthService"),
    "fastwrap.ports.llm": ("ChatModel",),
    "fastwrap.ports.embeddings": ("Embedder",),
}
_HOME_OF = {name: module for module, names in _HOMES.items() for name in names}

__all__ = [*_HOME_OF, "__version__"]


def __getattr__(name: str) -> Any:
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("fastwrap")
        except PackageNotFoundError:
            return "0+unknown"
    home = _HOME_OF.get(name)
    if home is None:
        raise AttributeError(f"module 'fastwrap' has no attribute {name!r}")
    value = getattr(import_module(home), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
