"""The chat model that writes a character's replies."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Protocol

from fastwrap.domain.model import (
    NO_OPTIONS,
    Caller,
    ChatDelta,
    ChatReply,
    ModelOptions,
    PromptMessage,
)


class ChatModel(Protocol):
    """Raises UpstreamFailed on a provider error and UpstreamTimeout when it is too slow.

    `options` says how to call (model, temperature, output cap; None fields: the adapter's
    defaults); `caller` says for whom, for the layers that meter and budget calls (None: a call
    on no one's account, such as a health probe).
    """

    async def reply(
        self,
        messages: Sequence[PromptMessage],
        options: ModelOptions = NO_OPTIONS,
        caller: Caller | None = None,
    ) -> ChatReply: ...

    def stream(
        self,
        messages: Sequence[PromptMessage],
        options: ModelOptions = NO_OPTIONS,
        caller: Caller | None = None,
    ) -> AsyncIterator[ChatDelta]:
        """Yield the reply in pieces as the provider produces them."""
        ...

    async def aclose(self) -> None:
        """Release the provider client's connections (at shutdown)."""
        ...
