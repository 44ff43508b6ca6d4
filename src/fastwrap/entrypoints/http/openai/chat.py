"""`POST /v1/chat/completions` (SPEC §12) over the chat use case that `/api/chat` calls.

Without a conversation the turn is stateless (the caller's messages are the history, nothing is
stored); with `conversation` (or `conversation_id`) only the last message, a user's, is the new
turn, and the conversation is held, continued and stored exactly as `/api/chat` does it.
"""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import StreamingResponse

from fastwrap.domain.chat import TurnRequest
from fastwrap.domain.completions import CompletionRequest
from fastwrap.domain.keys import Principal
from fastwrap.domain.model import NO_OPTIONS, Character, ModelOptions, PromptMessage
from fastwrap.domain.recorder import Acknowledging
from fastwrap.entrypoints.http.openai.auth import ChatCallerDep
from fastwrap.entrypoints.http.openai.chat_answers import CHUNK_EVENT, Answer, Events
from fastwrap.entrypoints.http.openai.chat_schemas import ChatCompletionIn, ChatCompletionOut
from fastwrap.entrypoints.http.openai.errors import InvalidParam, documented
from fastwrap.entrypoints.http.openai.models import TAG, json_response

router = APIRouter(prefix="/v1", tags=[TAG], responses=documented())
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
CHUNKS = {
    "description": "With `stream: true`: `chat.completion.chunk` SSE lines, then `data: [DONE]`",
    "content": {"text/event-stream": {"schema": CHUNK_EVENT}},
}


def caller_messages(body: ChatCompletionIn) -> tuple[PromptMessage, ...]:
    return tuple(
        PromptMessage(role="system" if m.role == "developer" else m.role, content=m.content)
        for m in body.messages
    )


def model_options(body: ChatCompletionIn) -> ModelOptions:
    cap = body.max_completion_tokens if body.max_completion_tokens is not None else body.max_tokens
    if body.temperature is None and cap is None:
        return NO_OPTIONS
    return ModelOptions(temperature=body.temperature, max_output_tokens=cap)


def completion_request(
    body: ChatCompletionIn, character: Character, principal: Principal, end_user: str | None
) -> CompletionRequest:
    return CompletionRequest(
        character_id=character.id,
        messages=caller_messages(body),
        end_user=end_user,
        options=model_options(body),
        key_id=principal.key_id,
    )


def turn_request(
    body: ChatCompletionIn, character: Character, principal: Principal, ids: tuple[str, str | None]
) -> TurnRequest:
    last = body.messages[-1]
    if last.role != "user":
        raise InvalidParam("with a conversation, the last message must be the user's", "messages")
    conversation, end_user = ids
    return TurnRequest(
        character_id=character.id,
        content=last.content,
        conversation_id=conversation,
        end_user=end_user,
        options=model_options(body),
        key_id=principal.key_id,
    )


def streamed(answer: Answer, events: Events) -> Response:
    return StreamingResponse(
        answer.stream(events), media_type="text/event-stream", headers=SSE_HEADERS
    )


@router.post(
    "/chat/completions",
    response_model=ChatCompletionOut,
    responses={200: CHUNKS, **documented(404, 409, 502, 504)},
    summary="A turn with a character, stateless or in a stored conversation",
)
async def chat_completions(body: ChatCompletionIn, caller: ChatCallerDep) -> Response:
    chat, client_id = caller.services.chat, caller.client.id
    character = await caller.services.characters.resolve(client_id, body.model)
    include_usage = body.stream_options is not None and body.stream_options.include_usage
    answer = Answer.new(str(character.id), include_usage=include_usage)
    # An end-user token runs as its end user, and in its conversation when it is bound to one.
    principal = caller.principal
    conversation, end_user = principal.chat_as(character.id, body.conversation_ref(), body.user)
    if conversation is None:
        request = completion_request(body, character, principal, end_user)
        if body.stream:
            return streamed(answer, await chat.stream_complete(client_id, request))
        return json_response(answer.completion(await chat.complete(client_id, request)))
    turn = turn_request(body, character, principal, (conversation, end_user))
    if body.stream:
        return streamed(answer, await chat.stream_turn(client_id, turn))
    async with Acknowledging():  # its usage is written while the turn is stored (recorder.py)
        result = await chat.turn(client_id, turn)
    return json_response(answer.completion(result))
