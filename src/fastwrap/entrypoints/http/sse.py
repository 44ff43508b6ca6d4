"""Server-sent events of a streamed chat turn: the frames, and their schema for the OpenAPI
document (OpenAPI 3.1: the schema of an event stream describes each event)."""

from __future__ import annotations

from typing import Any


def frame(event: str, data: str) -> bytes:
    return f"event: {event}\ndata: {data}\n\n".encode()


def _sse_event(event: str, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["event", "data"],
        "additionalProperties": False,
        "properties": {
            "event": {"const": event},
            "data": {
                "type": "string",
                "contentMediaType": "application/json",
                "contentSchema": data,
            },
        },
    }


def _fields(**properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": list(properties),
        "additionalProperties": False,
        "properties": properties,
    }


# One event of a streamed turn: a delta, the final turn, or the error that ended it.
SSE_EVENT: dict[str, Any] = {
    "oneOf": [
        _sse_event("delta", _fields(content={"type": "string"})),
        _sse_event("done", {"$ref": "#/components/schemas/TurnOut"}),
        _sse_event("error", _fields(detail={"type": "string"}, error={"type": "string"})),
    ]
}
