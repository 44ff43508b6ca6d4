"""The chat model that writes a character's replies."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Protocol

from fastwrap.domain.model import ChatDelta, ChatReply, PromptMessage


class ChatModel(Protocol):
    """Raises UpstreamFailed on a provider error and UpstreamTimeout when it is too slow."""

    async def reply(self, messages: Sequence[PromptMessage]) -> ChatReply: ...

    def stream(self, messages: Sequence[PromptMessage]) -> AsyncIterator[ChatDelta]:
        """Yield the reply in pieces as the provider produces them."""
        ...

    async def aclose(self) -> None:
        """Release the provider client's connections (at shutdown)."""
        ...
