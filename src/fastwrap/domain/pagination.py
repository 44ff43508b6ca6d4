"""Keyset pagination: an opaque cursor naming the last item of the previous page."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from fastwrap.domain.errors import Invalid
from fastwrap.domain.model import Page

DEFAULT_LIMIT = 50
MAX_LIMIT = 100


@dataclass(frozen=True, slots=True)
class Cursor:
    """Items are ordered by (created_at, id); a page starts strictly after this position."""

    created_at: datetime
    id: UUID

    def encode(self) -> str:
        raw = f"{self.created_at.isoformat()}|{self.id}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> Cursor:
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
            stamp, _, ident = raw.partition("|")
            created_at = datetime.fromisoformat(stamp)
            if created_at.tzinfo is None:
                raise ValueError("naive timestamp")
            return cls(created_at=created_at, id=UUID(ident))
        except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
            raise Invalid("cursor is not valid; pass next_cursor from a previous page") from exc


def check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise Invalid(f"limit must be between 1 and {MAX_LIMIT}")
    return limit


def page_of[T](rows: list[T], limit: int, position: Callable[[T], Cursor]) -> Page[T]:
    """Build a page from up to limit+1 rows: the extra row only says that there is more."""
    items = rows[:limit]
    more = len(rows) > limit and bool(items)
    return Page(items=tuple(items), next_cursor=position(items[-1]).encode() if more else None)
