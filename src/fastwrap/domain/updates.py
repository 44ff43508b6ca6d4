"""Partial updates: what one write changes, and what it must still find to apply.

A write names only the fields it means to change, so concurrent writes to one row never undo
each other (a login sets the key digest and nothing else; an admin's deactivation sets
`is_active` and nothing else). Where a write is only right if the row still holds what the
use case checked (the password a login verified, the key a rotation replaces), it carries a
condition, and the store applies it as one compare-and-set.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from fastwrap.domain.model import Knowledge, MemorySettings


class Keep(Enum):
    """A field a partial update leaves as it is (distinct from None, which clears it)."""

    KEEP = "keep"

    def __repr__(self) -> str:
        return "KEEP"


KEEP = Keep.KEEP


@dataclass(frozen=True, slots=True, kw_only=True)
class ClientUpdate:
    """The columns of a client row one write sets; KEEP leaves a column as it is."""

    updated_at: datetime
    email: str | Keep = KEEP
    password_hash: str | Keep = KEEP
    key_digest: str | Keep = KEEP
    is_active: bool | Keep = KEEP
    is_admin: bool | Keep = KEEP
    subscription: str | Keep | None = KEEP
    store_name: str | Keep | None = KEEP
    phone: str | Keep | None = KEEP
    allowed_origins: tuple[str, ...] | Keep = KEEP
    end_user_daily_tokens: int | Keep | None = KEEP
    token_budget_daily: int | Keep | None = KEEP
    token_budget_monthly: int | Keep | None = KEEP


@dataclass(frozen=True, slots=True, kw_only=True)
class ClientCondition:
    """What a live client row must still hold for a write to apply; None: anything."""

    key_digest: str | None = None
    password_hash: str | None = None
    is_active: bool | None = None


ANY_CLIENT = ClientCondition()


@dataclass(frozen=True, slots=True, kw_only=True)
class CharacterPatch:
    """Only the fields that are not KEEP change; None clears an optional field."""

    name: str | Keep | None = KEEP
    agent_role: str | Keep | None = KEEP  # None is refused: the prompt is required
    ttl: int | Keep | None = KEEP
    knowledge: Knowledge | Keep | None = KEEP
    model: str | Keep | None = KEEP
    temperature: float | Keep | None = KEEP
    max_output_tokens: int | Keep | None = KEEP
    end_user_daily_tokens: int | Keep | None = KEEP
    memory: MemorySettings | Keep | None = KEEP
