"""Administration of the database schema: what `fastwrap db` and the library's helpers use."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True, slots=True)
class SchemaVersion:
    """A migration: its number and name (`0003_change_notices` is 3, `change_notices`)."""

    version: int
    name: str


@dataclass(frozen=True, slots=True)
class AppliedMigration:
    version: int
    name: str
    applied_at: datetime


@dataclass(frozen=True, slots=True)
class MigrationStatus:
    """What `fastwrap db status` shows."""

    applied: tuple[AppliedMigration, ...]
    pending: tuple[SchemaVersion, ...]


class SchemaAdmin(Protocol):
    """The schema of the configured database."""

    async def migrate(self) -> list[str]:
        """Apply pending migrations (names, oldest first); refuse a mismatched EMBEDDING_DIM."""
        ...

    async def status(self) -> MigrationStatus:
        """Applied migrations (with dates) and pending ones; changes nothing."""
        ...

    async def reset_embeddings(self) -> int:
        """Delete every snippet and retype the vectors to EMBEDDING_DIM; how many were deleted."""
        ...
