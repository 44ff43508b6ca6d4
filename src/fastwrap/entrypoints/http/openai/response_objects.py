"""The Responses and Conversations APIs' objects, as OpenAI's SDK types name their fields
(openai.types.responses.Response, ResponseOutputMessage, ResponseStreamEvent;
openai.types.conversations.Conversation, ConversationItemList), built from domain values."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from fastwrap.domain.model import Conversation, Message, SearchHit, Usage
from fastwrap.domain.responses import Response, item_id


@dataclass(frozen=True, slots=True, kw_only=True)
class Echo:
    """What a request asked that the answer repeats, as OpenAI's does."""

    store: bool = True
    temperature: float | None = None
    max_output_tokens: int | None = None
    user: str | None = None


def usage_object(usage: Usage) -> dict[str, Any]:
    given, made = usage.input_tokens or 0, usage.output_tokens or 0
    return {
        "input_tokens": given,
        "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
        "output_tokens": made,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": given + made,
    }


def text_part(text: str) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def output_message(response: Response, *, done: bool = True) -> dict[str, Any]:
    return {
        "id": response.item_id,
        "type": "message",
        "role": "assistant",
        "status": "completed" if done else "in_progress",
        "content": [text_part(response.text)] if done else [],
    }


def sources(hits: Sequence[SearchHit]) -> list[dict[str, Any]]:
    return [
        {"entity_type": h.snippet.entity_type, "entity_id": h.snippet.entity_id, "score": h.score}
        for h in hits
    ]


def response_object(
    response: Response,
    echo: Echo,
    *,
    status: str | None = None,
    error: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A `response`; `status` overrides the response's own (`failed`, with `error`)."""
    done = response.status == "completed"
    conversation = response.conversation_id
    return {
        "id": response.id,
        "object": "response",
        "created_at": int(response.created_at.timestamp()),
        "status": status or response.status,
        "error": error,
        "incomplete_details": None,
        "instructions": response.instructions,
        "max_output_tokens": echo.max_output_tokens,
        "model": response.model,
        "output": [output_message(response)] if done else [],
        "parallel_tool_calls": False,
        "previous_response_id": response.previous_response_id,
        "reasoning": {"effort": None, "summary": None},
        "store": echo.store,
        "temperature": echo.temperature,
        "text": {"format": {"type": "text"}},
        "tool_choice": "none",
        "tools": [],
        "top_p": None,
        "truncation": "disabled",
        "usage": usage_object(response.usage) if done else None,
        "user": echo.user,
        "metadata": dict(response.metadata),
        "conversation": {"id": conversation} if conversation is not None else None,
        "fastwrap": {
            "conversation_id": conversation,
            "expires_at": response.expires_at.isoformat() if response.expires_at else None,
            "sources": sources(response.sources),
        },
    }


def item_object(conversation_id: str, message: Message) -> dict[str, Any]:
    """A stored message as a conversation (or input) item."""
    part = (
        {"type": "input_text", "text": message.content}
        if message.role == "user"
        else text_part(message.content)
    )
    return {
        "id": item_id(conversation_id, message.seq),
        "type": "message",
        "role": message.role,
        "status": "completed",
        "content": [part],
    }


def item_list(
    conversation_id: str, messages: Sequence[Message], *, has_more: bool
) -> dict[str, Any]:
    data = [item_object(conversation_id, m) for m in messages]
    return {
        "object": "list",
        "data": data,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
        "has_more": has_more,
    }


def conversation_object(conversation: Conversation) -> dict[str, Any]:
    created = conversation.created_at or conversation.expires_at
    return {
        "id": conversation.id,
        "object": "conversation",
        "created_at": int(created.timestamp()),
        "metadata": dict(conversation.metadata),
    }
