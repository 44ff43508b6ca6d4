"""The usage ledger's values (SPEC §13): one record per model call, and reports over them."""

from __future__ import annotations

import base64
import binascii
import math
from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from uuid import UUID

from fastwrap.domain.errors import Invalid

type Outcome = Literal["ok", "provider_error", "timeout", "cancelled"]
type GroupBy = Literal["day", "character", "end_user", "key", "model"]
GROUPS: tuple[GroupBy, ...] = ("day", "character", "end_user", "key", "model")
# The value of a group as reports name it.
GROUP_FIELDS: dict[GroupBy, str] = {
    "day": "day",
    "character": "character_id",
    "end_user": "end_user",
    "key": "key_id",
    "model": "model",
}
CHARS_PER_TOKEN = 4  # the usual rule of thumb for English text with BPE tokenizers
MAX_REPORT_DAYS = 366 * 5


@dataclass(frozen=True, slots=True, kw_only=True)
class UsageRecord:
    """One model call. `id` is chosen once, by whoever made the call, so storing it again is
    a no-op; `estimated` says the token counts are estimates (the provider reported none)."""

    id: UUID
    client_id: UUID
    key_id: UUID | None
    character_id: UUID | None
    end_user: str | None
    model: str
    input_tokens: int
    output_tokens: int
    estimated: bool
    latency_ms: int
    outcome: Outcome
    created_at: datetime

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens


@dataclass(frozen=True, slots=True, kw_only=True)
class UsageQuery:
    """Records in [since, until), of one client (None: every client), grouped, a page of
    groups ordered by their value, strictly after `after` (the last value of the previous)."""

    client_id: UUID | None
    since: datetime
    until: datetime
    group_by: GroupBy
    limit: int
    after: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class UsageRow:
    """One group of a report. `group` is its value as text (a day is `YYYY-MM-DD`), or None
    for calls without one (no end user, no key)."""

    group: str | None
    requests: int
    failed: int
    input_tokens: int
    output_tokens: int
    estimated: bool


def estimate_tokens(text: str) -> int:
    """Tokens a text would take, when the provider does not say: about 4 characters each."""
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def check_group_by(value: str) -> GroupBy:
    for group in GROUPS:
        if value == group:
            return group
    raise Invalid(f"group_by must be one of {', '.join(GROUPS)}")


def check_range(since: datetime, until: datetime) -> None:
    if since.tzinfo is None or until.tzinfo is None:
        raise Invalid("from and to must be timestamps with a time zone (ISO-8601, e.g. ...Z)")
    if until <= since:
        raise Invalid("to must be after from")
    if (until - since).days > MAX_REPORT_DAYS:
        raise Invalid(f"a report covers at most {MAX_REPORT_DAYS} days")


# The position a page of groups starts after: the last group's value ('' stands for None,
# which no group value can be: ids, days and models are never empty).
def encode_group_cursor(group: str | None) -> str:
    return base64.urlsafe_b64encode((group or "").encode()).decode().rstrip("=") or "-"


def decode_group_cursor(text: str) -> str:
    if text == "-":
        return ""
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise Invalid("cursor is not valid; pass next_cursor from a previous page") from exc


def group_value(record: UsageRecord, group_by: GroupBy) -> str | None:
    """What a record is grouped by, as reports show it."""
    match group_by:
        case "day":
            return record.created_at.date().isoformat()
        case "character":
            return str(record.character_id) if record.character_id else None
        case "end_user":
            return record.end_user
        case "key":
            return str(record.key_id) if record.key_id else None
        case "model":
            return record.model
