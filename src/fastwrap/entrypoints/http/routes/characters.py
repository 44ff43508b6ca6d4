"""Characters: personas with a system prompt, a conversation TTL, optional knowledge and memory."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response

from fastwrap.domain.characters import UNSET, CharacterDraft, CharacterPatch
from fastwrap.domain.pagination import DEFAULT_LIMIT, MAX_LIMIT
from fastwrap.entrypoints.http.deps import ReadCaller, WriteCaller
from fastwrap.entrypoints.http.errors import COMMON, documented
from fastwrap.entrypoints.http.responses import ok, plain_ok
from fastwrap.entrypoints.http.schemas import (
    CharacterIn,
    CharacterOut,
    CharacterPatchIn,
    Envelope,
    Items,
)

# A character's model call and its end users' budget: sent → set (null clears), else kept.
MODEL_FIELDS = ("model", "temperature", "max_output_tokens", "end_user_daily_tokens")
router = APIRouter(
    prefix="/api/characters", tags=["characters"], responses=documented(*COMMON, 401, 403)
)

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
CursorQuery = Annotated[str | None, Query(max_length=512)]


@router.post("", status_code=201)
async def create(body: CharacterIn, caller: WriteCaller) -> Envelope[CharacterOut]:
    draft = CharacterDraft(
        name=body.name,
        agent_role=body.agent_role,
        ttl=body.ttl,
        knowledge=body.knowledge.to_domain() if body.knowledge else None,
        model=body.model,
        temperature=body.temperature,
        max_output_tokens=body.max_output_tokens,
        end_user_daily_tokens=body.end_user_daily_tokens,
        memory=body.memory.to_domain() if body.memory else None,
    )
    character = await caller.services.characters.create(caller.client.id, draft)
    return ok("character created", CharacterOut.of(character))


@router.get("", response_model=Envelope[Items[CharacterOut]])
async def list_characters(
    caller: ReadCaller,
    limit: Limit = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> Response:
    page = await caller.services.characters.list(caller.client.id, cursor, limit)
    items = [CharacterOut.plain(c) for c in page.items]
    return plain_ok(f"{len(items)} characters", {"items": items, "next_cursor": page.next_cursor})


@router.get("/{character_id}", response_model=Envelope[CharacterOut], responses=documented(404))
async def get(character_id: UUID, caller: ReadCaller) -> Response:
    character = await caller.services.characters.get(caller.client.id, character_id)
    return plain_ok("character", CharacterOut.plain(character))


@router.patch("/{character_id}", responses=documented(404))
async def update(
    character_id: UUID, body: CharacterPatchIn, caller: WriteCaller
) -> Envelope[CharacterOut]:
    sent = body.model_fields_set
    patch = CharacterPatch(
        name=body.name if "name" in sent else UNSET,
        agent_role=body.agent_role if "agent_role" in sent else UNSET,
        ttl=body.ttl if "ttl" in sent else UNSET,
        knowledge=(body.knowledge.to_domain() if body.knowledge else None)
        if "knowledge" in sent
        else UNSET,
        memory=(body.memory.to_domain() if body.memory else None) if "memory" in sent else UNSET,
        **{name: getattr(body, name) for name in MODEL_FIELDS if name in sent},
    )
    character = await caller.services.characters.update(caller.client.id, character_id, patch)
    return ok("character updated", CharacterOut.of(character))


@router.delete("/{character_id}", status_code=204, responses=documented(404))
async def delete(character_id: UUID, caller: WriteCaller) -> Response:
    await caller.services.characters.delete(caller.client.id, character_id)
    return Response(status_code=204)
