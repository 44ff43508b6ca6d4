"""Text to vectors."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


class Embedder(Protocol):
    """`model` names the vectors' space: vectors of different models are never compared."""

    @property
    def model(self) -> str: ...

    @property
    def dimensions(self) -> int: ...

    async def embed(self, texts: Sequence[str]) -> list[tuple[float, ...]]:
        """One vector per text, in order, in as few provider calls as the batch limit allows.

        Raises UpstreamFailed / UpstreamTimeout; never returns fewer vectors than texts.
        """
        ...

    async def aclose(self) -> None:
        """Release the provider client's connections (at shutdown)."""
        ...
