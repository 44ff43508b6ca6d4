"""A turn's outcome as OpenAI writes it: a `chat.completion`, or `chat.completion.chunk` SSE.

Each answer also carries FastWrap's `fastwrap` object (SPEC §12): the conversation it was stored
in (stateful turns), when that expires, and the knowledge the prompt used.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from uuid import uuid4

import orjson

from fastwrap.domain.chat import TurnResult
from fastwrap.domain.completions import CompletionResult
from fastwrap.domain.errors import DomainError
from fastwrap.domain.model import ChatDelta, ChatReply, SearchHit
from fastwrap.entrypoints.http.openai.errors import INTERNAL, body, domain_body

log = logging.getLogger("fastwrap.openai")
DONE = b"data: [DONE]\n\n"

type Outcome = TurnResult | CompletionResult
type Events = AsyncIterator[ChatDelta | TurnResult] | AsyncIterator[ChatDelta | CompletionResult]


def _json_data(schema: dict[str, Any]) -> dict[str, Any]:
    return {"type": "string", "contentMediaType": "application/json", "contentSchema": schema}


_CHUNK = {
    "type": "object",
    "required": ["id", "object", "created", "model", "choices"],
    "properties": {
        "object": {"const": "chat.completion.chunk"},
        "choices": {"type": "array", "maxItems": 1},
        "usage": {"$ref": "#/components/schemas/CompletionUsage"},
        "fastwrap": {"$ref": "#/components/schemas/FastWrapOut"},
    },
}
_ERROR = {"$ref": "#/components/schemas/OpenAIErrorBody"}
# One event of a streamed completion (OpenAPI 3.1 describes an event stream event by event):
# a chunk, the error that ended the stream, or the closing `[DONE]`; no `event:` lines.
CHUNK_EVENT: dict[str, Any] = {
    "type": "object",
    "required": ["data"],
    "properties": {
        "event": {"const": "message"},
        "data": {"oneOf": [{"const": "[DONE]"}, _json_data({"oneOf": [_CHUNK, _ERROR]})]},
    },
}


def usage_of(reply: ChatReply) -> dict[str, int]:
    """OpenAI's usage; a count the provider did not report is 0."""
    prompt = reply.usage.input_tokens or 0
    completion = reply.usage.output_tokens or 0
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def sources_of(hits: tuple[SearchHit, ...]) -> list[dict[str, Any]]:
    return [
        {"entity_type": h.snippet.entity_type, "entity_id": h.snippet.entity_id, "score": h.score}
        for h in hits
    ]


def fastwrap_of(outcome: Outcome) -> dict[str, Any]:
    if isinstance(outcome, TurnResult):
        expires_at = outcome.expires_at.isoformat().replace("+00:00", "Z")
        return {
            "conversation_id": outcome.conversation_id,
            "expires_at": expires_at,
            "sources": sources_of(outcome.sources),
        }
    return {"conversation_id": None, "expires_at": None, "sources": sources_of(outcome.sources)}


def sse(payload: dict[str, Any]) -> bytes:
    return b"data: " + orjson.dumps(payload) + b"\n\n"


@dataclass(frozen=True, slots=True)
class Answer:
    """One answer's identity: what every chunk and the completion repeat."""

    id: str
    created: int
    model: str
    include_usage: bool = False

    @classmethod
    def new(cls, model: str, *, include_usage: bool = False) -> Answer:
        return cls(f"chatcmpl-{uuid4().hex}", int(time.time()), model, include_usage)

    def completion(self, outcome: Outcome) -> dict[str, Any]:
        message = {"role": "assistant", "content": outcome.reply.content, "refusal": None}
        choice = {"index": 0, "message": message, "finish_reason": "stop", "logprobs": None}
        return {
            "id": self.id,
            "object": "chat.completion",
            "created": self.created,
            "model": self.model,
            "choices": [choice],
            "usage": usage_of(outcome.reply),
            "system_fingerprint": None,
            "fastwrap": fastwrap_of(outcome),
        }

    def chunk(self, choices: list[dict[str, Any]], **extra: Any) -> bytes:
        return sse(
            {
                "id": self.id,
                "object": "chat.completion.chunk",
                "created": self.created,
                "model": self.model,
                "choices": choices,
                **extra,
            }
        )

    def delta(self, delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        return {"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}

    async def stream(self, events: Events) -> AsyncIterator[bytes]:
        """Role first, then content deltas, then the finish (with `fastwrap`), the usage chunk
        when asked for, and `[DONE]`. A failure once the stream has begun is one `error` line
        (the turn stored nothing)."""
        yield self.chunk([self.delta({"role": "assistant", "content": ""})])
        try:
            async for event in events:
                if isinstance(event, ChatDelta):
                    yield self.chunk([self.delta({"content": event.content})])
                    continue
                yield self.chunk([self.delta({}, "stop")], fastwrap=fastwrap_of(event))
                if self.include_usage:
                    yield self.chunk([], usage=usage_of(event.reply))
        except DomainError as exc:
            yield sse(domain_body(exc)[1])
            return
        except Exception:
            log.exception("stream failed")
            yield sse(body("internal error", INTERNAL))
            return
        yield DONE
