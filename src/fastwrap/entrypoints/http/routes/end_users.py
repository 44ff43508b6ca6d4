"""A tenant's end users (SPEC §15): what its characters remember of one, and erasure."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from fastwrap.domain.pagination import DEFAULT_LIMIT, MAX_LIMIT
from fastwrap.entrypoints.http.deps import ReadCaller, WriteCaller
from fastwrap.entrypoints.http.errors import COMMON, documented
from fastwrap.entrypoints.http.memory_schemas import ErasedOut, MemoryItemOut
from fastwrap.entrypoints.http.responses import ok
from fastwrap.entrypoints.http.schemas import END_USER, Envelope, Items

router = APIRouter(
    prefix="/api/end-users", tags=["end users"], responses=documented(*COMMON, 401, 403)
)

EndUser = Annotated[
    str, Path(pattern=END_USER, description="The end user's id, as your app names them")
]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
CursorQuery = Annotated[str | None, Query(max_length=512)]


@router.get("/{end_user}/memory")
async def memory(
    end_user: EndUser,
    caller: ReadCaller,
    limit: Limit = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> Envelope[Items[MemoryItemOut]]:
    """The end user's memory items, oldest first, across the tenant's characters."""
    page = await caller.services.end_users.memory(caller.client.id, end_user, cursor, limit)
    items = [MemoryItemOut.of(item) for item in page.items]
    return ok(f"{len(items)} memory items", Items(items=items, next_cursor=page.next_cursor))


@router.delete("/{end_user}")
async def erase(end_user: EndUser, caller: WriteCaller) -> Envelope[ErasedOut]:
    """Forget the end user (an erasure request): their memory items and conversations are
    deleted, their usage records anonymised. Repeating it is harmless."""
    erased = await caller.services.end_users.erase(caller.client.id, end_user)
    return ok(
        "end user forgotten",
        ErasedOut(
            end_user=end_user,
            memory_items=erased.memory_items,
            conversations=erased.conversations,
            usage_records=erased.usage_records,
        ),
    )
