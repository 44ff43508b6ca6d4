"""`/v1/conversations` (SPEC §12): the same conversations as `/api/conversations`, created
empty or with items, with metadata, bound to a character by their first response."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, ConfigDict

from fastwrap.domain.errors import Forbidden
from fastwrap.entrypoints.http.openai.auth import ChatCallerDep, ViewCallerDep, visible
from fastwrap.entrypoints.http.openai.errors import documented
from fastwrap.entrypoints.http.openai.models import TAG, json_response
from fastwrap.entrypoints.http.openai.response_input import messages
from fastwrap.entrypoints.http.openai.response_objects import conversation_object, item_list
from fastwrap.entrypoints.http.openai.response_schemas import (
    ConversationOut,
    DeletedOut,
    ItemListOut,
)
from fastwrap.entrypoints.http.schemas import CONVERSATION_ID

router = APIRouter(prefix="/v1", tags=[TAG], responses=documented())
ConversationId = Path(pattern=CONVERSATION_ID)


class ConversationIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    metadata: dict[str, str] | None = None
    items: list[Any] | None = None


class ConversationUpdateIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    metadata: dict[str, str]


@router.post(
    "/conversations",
    response_model=ConversationOut,
    summary="Create a conversation, optionally with items",
)
async def create_conversation(body: ConversationIn, caller: ChatCallerDep) -> Response:
    if caller.principal.token is not None:
        # A conversation created empty belongs to no end user until its first turn, so a
        # token could not see it: its first response creates it instead.
        raise Forbidden("an end-user token starts a conversation with its first response")
    conversation = await caller.services.conversations.create(
        caller.client.id,
        metadata=body.metadata or {},
        items=messages(body.items or [], "items"),
    )
    return json_response(conversation_object(conversation))


@router.get(
    "/conversations/{conversation_id}",
    response_model=ConversationOut,
    responses=documented(404),
    summary="Retrieve a conversation",
)
async def get_conversation(
    caller: ViewCallerDep, conversation_id: str = ConversationId
) -> Response:
    end_user = visible(caller, conversation_id)
    conversation = await caller.services.conversations.get(
        caller.client.id, conversation_id, end_user=end_user
    )
    return json_response(conversation_object(conversation))


@router.post(
    "/conversations/{conversation_id}",
    response_model=ConversationOut,
    responses=documented(404),
    summary="Replace a conversation's metadata",
)
async def update_conversation(
    body: ConversationUpdateIn, caller: ChatCallerDep, conversation_id: str = ConversationId
) -> Response:
    end_user = visible(caller, conversation_id)
    conversation = await caller.services.conversations.update(
        caller.client.id, conversation_id, body.metadata, end_user=end_user
    )
    return json_response(conversation_object(conversation))


@router.delete(
    "/conversations/{conversation_id}",
    response_model=DeletedOut,
    responses=documented(404),
    summary="Delete a conversation and its responses",
)
async def delete_conversation(
    caller: ChatCallerDep, conversation_id: str = ConversationId
) -> Response:
    end_user = visible(caller, conversation_id)
    await caller.services.conversations.delete(caller.client.id, conversation_id, end_user=end_user)
    return json_response({"id": conversation_id, "object": "conversation.deleted", "deleted": True})


@router.get(
    "/conversations/{conversation_id}/items",
    response_model=ItemListOut,
    responses=documented(404),
    summary="A conversation's items, newest first by default",
)
async def list_items(
    caller: ViewCallerDep,
    conversation_id: str = ConversationId,
    limit: int = Query(20, ge=1, le=100),
    after: str | None = None,
    order: Literal["asc", "desc"] = "desc",
) -> Response:
    end_user = visible(caller, conversation_id)
    found = await caller.services.conversations.items(
        caller.client.id, conversation_id, limit=limit, after=after, order=order, end_user=end_user
    )
    return json_response(item_list(found.conversation_id, found.items, has_more=found.has_more))
