"""One chat turn (JSON or SSE) and the conversation history."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator

from fastapi import APIRouter, Path, Response
from fastapi.responses import StreamingResponse

from fastwrap.domain.chat import TurnRequest, TurnResult
from fastwrap.domain.errors import DomainError, NotFound
from fastwrap.domain.model import ChatDelta
from fastwrap.domain.recorder import Acknowledging
from fastwrap.entrypoints.http.deps import Caller, ChatCaller
from fastwrap.entrypoints.http.errors import COMMON, documented
from fastwrap.entrypoints.http.memory_schemas import RecalledOut
from fastwrap.entrypoints.http.responses import json_body, ok
from fastwrap.entrypoints.http.schemas import (
    CONVERSATION_ID,
    ChatIn,
    ConversationOut,
    Envelope,
    MessageOut,
    ReplyOut,
    SourceOut,
    TurnOut,
    UsageOut,
)
from fastwrap.entrypoints.http.sse import SSE_EVENT, frame

log = logging.getLogger("fastwrap.chat")
router = APIRouter(prefix="/api", tags=["chat"], responses=documented(*COMMON, 401, 403))
ConversationId = Path(pattern=CONVERSATION_ID)


def _visible(caller: Caller, conversation_id: str) -> str:
    """An end-user token bound to one conversation sees no other (as if it did not exist)."""
    if not caller.principal.may_see(conversation_id):
        raise NotFound("conversation not found or expired")
    return conversation_id


def turn_out(result: TurnResult) -> TurnOut:
    usage = result.reply.usage
    return TurnOut(
        conversation_id=result.conversation_id,
        character_id=result.character_id,
        reply=ReplyOut(content=result.reply.content),
        usage=UsageOut(input_tokens=usage.input_tokens, output_tokens=usage.output_tokens),
        expires_at=result.expires_at,
        sources=[
            SourceOut(
                entity_type=h.snippet.entity_type, entity_id=h.snippet.entity_id, score=h.score
            )
            for h in result.sources
        ],
        memories=[RecalledOut.of(hit) for hit in result.memories],
    )


async def _sse(events: AsyncIterator[ChatDelta | TurnResult]) -> AsyncIterator[bytes]:
    try:
        async for event in events:
            if isinstance(event, ChatDelta):
                yield frame("delta", json.dumps({"content": event.content}))
            else:
                yield frame("done", turn_out(event).model_dump_json())
    except DomainError as exc:
        # The status line is already sent: report the failure in-band; nothing was stored.
        yield frame("error", json.dumps({"detail": exc.detail, "error": exc.code}))
    except Exception:
        log.exception("stream failed")
        yield frame("error", json.dumps({"detail": "internal error", "error": "InternalError"}))


@router.post(
    "/chat",
    status_code=201,
    response_model=Envelope[TurnOut],
    responses={
        201: {
            "description": "The turn; with `stream: true`, SSE `delta` frames, then `done`",
            "content": {"text/event-stream": {"schema": SSE_EVENT}},
        },
        **documented(404, 409, 502, 504),
    },
)
async def chat(body: ChatIn, caller: ChatCaller) -> Response:
    principal = caller.principal
    conversation_id, end_user = principal.chat_as(
        body.character_id, body.conversation_id, body.end_user
    )
    request = TurnRequest(
        character_id=body.character_id,
        content=body.content,
        conversation_id=conversation_id,
        end_user=end_user,
        key_id=principal.key_id,
    )
    if body.stream:
        events = await caller.services.chat.stream_turn(caller.client.id, request)
        return StreamingResponse(
            _sse(events),
            status_code=201,
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
    # The turn's usage record is written while the turn is stored, and awaited before the 201.
    async with Acknowledging():
        result = await caller.services.chat.turn(caller.client.id, request)
    return json_body(ok("reply", turn_out(result)), status_code=201)


@router.get("/conversations/{conversation_id}", responses=documented(404))
async def get_conversation(
    caller: ChatCaller, conversation_id: str = ConversationId
) -> Envelope[ConversationOut]:
    conversation = await caller.services.chat.conversation(
        caller.client.id, _visible(caller, conversation_id), end_user=caller.principal.end_user
    )
    data = ConversationOut(
        conversation_id=conversation.id,
        character_id=conversation.character_id,
        end_user=conversation.end_user,
        messages=[
            MessageOut(role=m.role, content=m.content, created_at=m.created_at)
            for m in conversation.messages
        ],
        expires_at=conversation.expires_at,
    )
    return ok("conversation", data)


@router.delete("/conversations/{conversation_id}", status_code=204, responses=documented(404))
async def forget_conversation(
    caller: ChatCaller, conversation_id: str = ConversationId
) -> Response:
    await caller.services.chat.forget(
        caller.client.id, _visible(caller, conversation_id), end_user=caller.principal.end_user
    )
    return Response(status_code=204)
