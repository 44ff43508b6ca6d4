"""Usage reports (SPEC §13): a tenant's own, and every tenant's for admins."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel

from fastwrap.domain.model import Page
from fastwrap.domain.pagination import DEFAULT_LIMIT, MAX_LIMIT
from fastwrap.domain.usage import GROUP_FIELDS, UsageRow, check_group_by
from fastwrap.entrypoints.http.deps import AdminDep, ReadCaller
from fastwrap.entrypoints.http.errors import COMMON, documented
from fastwrap.entrypoints.http.json_types import IsoTimestamp
from fastwrap.entrypoints.http.responses import plain_ok
from fastwrap.entrypoints.http.schemas import Envelope, Items

router = APIRouter(tags=["usage"], responses=documented(*COMMON, 401))

GroupByQuery = Annotated[
    Literal["day", "character", "end_user", "key", "model"],
    Query(description="What one row stands for"),
]
FromQuery = Annotated[
    IsoTimestamp | None,
    Query(alias="from", description="Start (inclusive, ISO-8601 with a zone); default 30 days ago"),
]
ToQuery = Annotated[
    IsoTimestamp | None, Query(description="End (exclusive, ISO-8601 with a zone); default now")
]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
CursorQuery = Annotated[str | None, Query(max_length=512)]


class UsageRowOut(BaseModel):
    """One group; only the field of the group asked for is present (`day`, `character_id`,
    `end_user`, `key_id` or `model`), null for calls without one."""

    day: str | None = None
    character_id: UUID | None = None
    end_user: str | None = None
    key_id: UUID | None = None
    model: str | None = None
    requests: int
    failed: int
    input_tokens: int
    output_tokens: int
    estimated: bool


def usage_view(row: UsageRow, group_by: str) -> dict[str, Any]:
    return {
        GROUP_FIELDS[check_group_by(group_by)]: row.group,
        "requests": row.requests,
        "failed": row.failed,
        "input_tokens": row.input_tokens,
        "output_tokens": row.output_tokens,
        "estimated": row.estimated,
    }


def _page(page: Page[UsageRow], group_by: str) -> Response:
    items = [usage_view(row, group_by) for row in page.items]
    return plain_ok(f"{len(items)} groups", {"items": items, "next_cursor": page.next_cursor})


@router.get("/api/usage", response_model=Envelope[Items[UsageRowOut]])
async def usage(
    caller: ReadCaller,
    since: FromQuery = None,
    to: ToQuery = None,
    group_by: GroupByQuery = "day",
    limit: Limit = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> Response:
    """The calls this tenant's keys made, grouped."""
    page = await caller.services.usage.report(
        caller.client.id, since=since, until=to, group_by=group_by, cursor=cursor, limit=limit
    )
    return _page(page, group_by)


@router.get(
    "/admin/usage",
    response_model=Envelope[Items[UsageRowOut]],
    tags=["admin"],
    responses=documented(403),
)
async def admin_usage(
    admin: AdminDep,
    since: FromQuery = None,
    to: ToQuery = None,
    group_by: GroupByQuery = "day",
    client_id: Annotated[UUID | None, Query(description="Only this client")] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> Response:
    """Every client's calls (or one client's), grouped."""
    page = await admin.services.usage.report(
        client_id, since=since, until=to, group_by=group_by, cursor=cursor, limit=limit
    )
    return _page(page, group_by)
