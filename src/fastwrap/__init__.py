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
only when FastWrap is opened).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastwrap.container import Container, Services, make_container
    from fastwrap.domain.characters import UNSET, CharacterDraft, CharacterPatch, CharacterService
    from fastwrap.domain.chat import ChatService, TurnRequest, TurnResult
    from fastwrap.domain.clients import ClientChanges, ClientService, IssuedKey
    from fastwrap.domain.errors import (
        Busy,
        ConfigurationError,
        Conflict,
        DomainError,
        Forbidden,
        Invalid,
        NotFound,
        PolicyViolation,
        RateLimited,
        Unauthorized,
        Unavailable,
        UpstreamFailed,
        UpstreamTimeout,
    )
    from fastwrap.domain.health import HealthReport, HealthService
    from fastwrap.domain.model import (
        Character,
        ChatDelta,
        ChatReply,
        Client,
        Conversation,
        HealthStatus,
        Knowledge,
        Message,
        Page,
        PromptMessage,
        SearchHit,
        Snippet,
        SnippetInput,
        Usage,
    )
    from fastwrap.domain.vectors import VectorService
    from fastwrap.library import FastWrap, migrate, migration_status, open, reset_embeddings
    from fastwrap.ports.embeddings import Embedder
    from fastwrap.ports.llm import ChatModel
    from fastwrap.settings import Settings

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
        "Character",
        "ChatDelta",
        "ChatReply",
        "Client",
        "Conversation",
        "HealthStatus",
        "Knowledge",
        "Message",
        "Page",
        "PromptMessage",
        "SearchHit",
        "Snippet",
        "SnippetInput",
        "Usage",
    ),
    "fastwrap.domain.clients": ("ClientChanges", "ClientService", "IssuedKey"),
    "fastwrap.domain.characters": ("UNSET", "CharacterDraft", "CharacterPatch", "CharacterService"),
    "fastwrap.domain.chat": ("ChatService", "TurnRequest", "TurnResult"),
    "fastwrap.domain.vectors": ("VectorService",),
    "fastwrap.domain.health": ("HealthReport", "HealthService"),
    "fastwrap.ports.llm": ("ChatModel",),
    "fastwrap.ports.embeddings": ("Embedder",),
}
_HOME_OF = {name: module for module, names in _HOMES.items() for name in names}

__all__ = [
    "UNSET",
    "Busy",
    "Character",
    "CharacterDraft",
    "CharacterPatch",
    "CharacterService",
    "ChatDelta",
    "ChatModel",
    "ChatReply",
    "ChatService",
    "Client",
    "ClientChanges",
    "ClientService",
    "ConfigurationError",
    "Conflict",
    "Container",
    "Conversation",
    "DomainError",
    "Embedder",
    "FastWrap",
    "Forbidden",
    "HealthReport",
    "HealthService",
    "HealthStatus",
    "Invalid",
    "IssuedKey",
    "Knowledge",
    "Message",
    "NotFound",
    "Page",
    "PolicyViolation",
    "PromptMessage",
    "RateLimited",
    "SearchHit",
    "Services",
    "Settings",
    "Snippet",
    "SnippetInput",
    "TurnRequest",
    "TurnResult",
    "Unauthorized",
    "Unavailable",
    "UpstreamFailed",
    "UpstreamTimeout",
    "Usage",
    "VectorService",
    "__version__",
    "make_container",
    "migrate",
    "migration_status",
    "open",
    "reset_embeddings",
]


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
