"""The shapes `/v1/responses` and `/v1/conversations` answer, for the OpenAPI document (the
routes send bodies built by response_objects.py, already in these shapes; the schema fuzz
checks that they are)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict


class _Open(BaseModel):
    """OpenAI's objects carry fields FastWrap sets to their defaults; they are allowed here."""

    model_config = ConfigDict(extra="allow")


class OutputTextOut(_Open):
    type: Literal["output_text"]
    text: str


class OutputMessageOut(_Open):
    id: str
    type: Literal["message"]
    role: Literal["assistant"]
    status: str
    content: list[OutputTextOut]


class ResponseUsageOut(_Open):
    input_tokens: int
    output_tokens: int
    total_tokens: int


class ConversationRefOut(BaseModel):
    id: str


class FastwrapOut(BaseModel):
    conversation_id: str | None
    expires_at: str | None
    sources: list[dict[str, Any]]


class ResponseOut(_Open):
    """A `response` (openai.types.responses.Response), with the `fastwrap` extension."""

    id: str
    object: Literal["response"]
    created_at: int
    status: Literal["in_progress", "completed", "failed"]
    model: str
    output: list[OutputMessageOut]
    usage: ResponseUsageOut | None
    conversation: ConversationRefOut | None
    previous_response_id: str | None
    instructions: str | None
    metadata: dict[str, str]
    fastwrap: FastwrapOut


class DeletedOut(BaseModel):
    id: str
    object: str
    deleted: bool


class ItemOut(_Open):
    id: str
    type: Literal["message"]
    role: Literal["user", "assistant"]
    status: str
    content: list[dict[str, Any]]


class ItemListOut(BaseModel):
    object: Literal["list"]
    data: list[ItemOut]
    first_id: str | None
    last_id: str | None
    has_more: bool


class ConversationOut(BaseModel):
    id: str
    object: Literal["conversation"]
    created_at: int
    metadata: dict[str, str]


# One event of a streamed response: `event:` names its type, `data:` is the event as JSON.
RESPONSE_EVENT: dict[str, Any] = {
    "type": "object",
    "required": ["event", "data"],
    "properties": {
        "event": {"type": "string", "pattern": "^(response\\.[a-z_.]+|error)$"},
        "data": {
            "type": "string",
            "contentMediaType": "application/json",
            "contentSchema": {
                "type": "object",
                "required": ["type", "sequence_number"],
                "properties": {"type": {"type": "string"}, "sequence_number": {"type": "integer"}},
            },
        },
    },
}
