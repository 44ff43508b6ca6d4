"""`/v1/responses` (SPEC §12): a turn on the character the `model` names, continuing a
conversation or a response; retrieve, delete and list a response's input items."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Query, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator

from fastwrap.domain.conversations import page
from fastwrap.domain.model import ModelOptions
from fastwrap.domain.recorder import Acknowledging
from fastwrap.domain.responses import ResponseRef, ResponseRequest
from fastwrap.entrypoints.http.openai.auth import ChatCallerDep, ViewCallerDep, visible
from fastwrap.entrypoints.http.openai.errors import documented
from fastwrap.entrypoints.http.openai.models import TAG, json_response
from fastwrap.entrypoints.http.openai.response_events import events
from fastwrap.entrypoints.http.openai.response_input import messages
from fastwrap.entrypoints.http.openai.response_objects import Echo, item_list, response_object
from fastwrap.entrypoints.http.openai.response_schemas import (
    RESPONSE_EVENT,
    DeletedOut,
    ItemListOut,
    ResponseOut,
)

router = APIRouter(prefix="/v1", tags=[TAG], responses=documented())
STREAM_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


class ConversationRef(BaseModel):
    id: str


class ResponsesIn(BaseModel):
    """What FastWrap reads of OpenAI's request; the fields it does not use are ignored."""

    model_config = ConfigDict(extra="ignore")

    model: str = Field(min_length=1)
    input: str | list[Any]
    instructions: str | None = None
    previous_response_id: str | None = None
    conversation: str | ConversationRef | None = None
    store: bool | None = None
    stream: bool | None = None
    max_output_tokens: int | None = Field(default=None, ge=1)
    temperature: float | None = Field(default=None, ge=0, le=2)
    metadata: dict[str, str] | None = None
    user: str | None = None
    tools: list[Any] | None = None

    @field_validator("tools")
    @classmethod
    def _no_tools(cls, tools: list[Any] | None) -> list[Any] | None:
        if tools:
            raise ValueError("tools are not supported yet")
        return tools

    def conversation_id(self) -> str | None:
        ref = self.conversation
        return ref.id if isinstance(ref, ConversationRef) else ref


def echo_of(body: ResponsesIn) -> Echo:
    return Echo(
        store=body.store is not False,
        temperature=body.temperature,
        max_output_tokens=body.max_output_tokens,
        user=body.user,
    )


@router.post(
    "/responses",
    response_model=ResponseOut,
    responses={
        200: {
            "description": "A `response`; with `stream: true`, its typed events (SSE)",
            "content": {"text/event-stream": {"schema": RESPONSE_EVENT}},
        },
        **documented(404, 409, 502, 504),
    },
    summary="Create a response: one turn of the character the model names",
)
async def create_response(body: ResponsesIn, caller: ChatCallerDep) -> Response:
    services, client_id, principal = caller.services, caller.client.id, caller.principal
    character = await services.characters.resolve(client_id, body.model)
    named = body.conversation_id()
    previous = body.previous_response_id
    # An end-user token chats only with its character, as its end user, and (when bound to
    # one) only in its conversation: the one named, or the one the previous response is in.
    continued = named
    if previous is not None and named is None:
        continued = ResponseRef.decode(previous).conversation_id
    bound, end_user = principal.chat_as(character.id, continued, body.user)
    request = ResponseRequest(
        character_id=character.id,
        model=body.model,
        input=messages(body.input),
        instructions=body.instructions,
        previous_response_id=previous,
        conversation_id=named if previous is not None else bound,
        store=body.store is not False,
        metadata=body.metadata or {},
        end_user=end_user,
        key_id=principal.key_id,
        options=ModelOptions(
            temperature=body.temperature, max_output_tokens=body.max_output_tokens
        ),
    )
    if body.stream:
        stream = await services.responses.stream(client_id, request)
        return StreamingResponse(
            events(stream, echo_of(body)), media_type="text/event-stream", headers=STREAM_HEADERS
        )
    async with Acknowledging():  # its usage is written while the turn is stored (recorder.py)
        response = await services.responses.create(client_id, request)
    return json_response(response_object(response, echo_of(body)))


@router.get(
    "/responses/{response_id}",
    response_model=ResponseOut,
    responses=documented(404),
    summary="Retrieve a response",
)
async def get_response(response_id: str, caller: ViewCallerDep) -> Response:
    end_user = visible(caller, ResponseRef.decode(response_id).conversation_id)
    response = await caller.services.responses.get(caller.client.id, response_id, end_user=end_user)
    return json_response(response_object(response, Echo()))


@router.delete(
    "/responses/{response_id}",
    response_model=DeletedOut,
    responses=documented(404),
    summary="Delete a response: its input and output leave its conversation",
)
async def delete_response(response_id: str, caller: ChatCallerDep) -> Response:
    end_user = visible(caller, ResponseRef.decode(response_id).conversation_id)
    await caller.services.responses.delete(caller.client.id, response_id, end_user=end_user)
    return json_response({"id": response_id, "object": "response", "deleted": True})


@router.get(
    "/responses/{response_id}/input_items",
    response_model=ItemListOut,
    responses=documented(404),
    summary="The input items a response was given",
)
async def list_input_items(
    response_id: str,
    caller: ViewCallerDep,
    limit: int = Query(20, ge=1, le=100),
    after: str | None = None,
    order: Literal["asc", "desc"] = "desc",
) -> Response:
    end_user = visible(caller, ResponseRef.decode(response_id).conversation_id)
    conversation_id, inputs = await caller.services.responses.input_items(
        caller.client.id, response_id, end_user=end_user
    )
    found = page(conversation_id, inputs, limit=limit, after=after, order=order)
    return json_response(item_list(conversation_id, found.items, has_more=found.has_more))
