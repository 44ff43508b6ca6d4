"""`POST /v1/chat/completions` bodies: what FastWrap reads of OpenAI's request, what it answers.

Fields OpenAI defines that FastWrap does not use (`seed`, `logprobs`, `top_p`, ...) are ignored;
`n` > 1, `tools` and `functions` are refused with a 400 naming the field until they are
supported. Answers are written as plain JSON (chat_answers.py); the models below document them.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StrictBool, WithJsonSchema, field_validator

from fastwrap.entrypoints.http.json_types import JsonFloat, JsonInt
from fastwrap.entrypoints.http.openai.errors import InvalidParam
from fastwrap.entrypoints.http.schemas import CONVERSATION_ID, END_USER, SourceOut

_CONVERSATION_ID = re.compile(CONVERSATION_ID)
type RoleIn = Literal["system", "developer", "user", "assistant"]


def text_of(content: Any) -> str:
    """A message's content: a string, or a list of `text` parts (joined); None is empty."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = []
        for part in content:
            if not isinstance(part, dict) or part.get("type") != "text":
                raise ValueError("only text content parts are supported")
            text = part.get("text")
            if not isinstance(text, str):
                raise ValueError("a text part needs a string `text`")
            texts.append(text)
        return "".join(texts)
    raise ValueError("content must be a string or a list of text parts")


TEXT_PART = {
    "type": "object",
    "required": ["type", "text"],
    "properties": {"type": {"const": "text"}, "text": {"type": "string"}},
}
# What the schema says `content` may be; the validator turns each into the text.
CONTENT = {"anyOf": [{"type": "string"}, {"type": "array", "items": TEXT_PART}, {"type": "null"}]}


class MessageIn(BaseModel):
    role: RoleIn
    content: Annotated[str, WithJsonSchema(CONTENT)] = ""

    @field_validator("content", mode="before")
    @classmethod
    def _text(cls, value: Any) -> str:
        return text_of(value)


class StreamOptions(BaseModel):
    include_usage: StrictBool = False


class ConversationRef(BaseModel):
    id: str = Field(pattern=CONVERSATION_ID)


class ChatCompletionIn(BaseModel):
    model: str = Field(min_length=1, max_length=256, description="A character's id or name")
    messages: list[MessageIn] = Field(min_length=1, max_length=1000)
    stream: StrictBool = False
    stream_options: StreamOptions | None = None
    temperature: JsonFloat | None = Field(default=None, ge=0, le=2)
    max_tokens: JsonInt | None = Field(default=None, ge=1)
    max_completion_tokens: JsonInt | None = Field(default=None, ge=1)
    user: str | None = Field(default=None, pattern=END_USER, description="The end user (§13)")
    conversation: str | ConversationRef | None = Field(
        default=None,
        description="A conversation to continue (or start): only the last message is new",
    )
    conversation_id: str | None = Field(default=None, pattern=CONVERSATION_ID)
    n: JsonInt | None = None
    tools: list[Any] | None = None
    functions: list[Any] | None = None

    @field_validator("conversation", mode="before")
    @classmethod
    def _conversation(cls, value: Any) -> Any:
        if isinstance(value, str) and not _matches_id(value):
            raise ValueError("conversation must be 1-128 characters of [A-Za-z0-9._:-]")
        return value

    @field_validator("n")
    @classmethod
    def _one_choice(cls, value: int | None) -> int | None:
        if value is not None and value != 1:
            raise ValueError("n must be 1: FastWrap answers with one choice")
        return value

    @field_validator("tools", "functions")
    @classmethod
    def _no_tools(cls, value: list[Any] | None) -> list[Any] | None:
        if value:
            raise ValueError("tools are not supported yet")
        return value

    def conversation_ref(self) -> str | None:
        """The conversation the body continues, if any (`conversation` or `conversation_id`)."""
        given = self.conversation
        ref = given.id if isinstance(given, ConversationRef) else given
        if ref is not None and self.conversation_id not in (None, ref):
            raise InvalidParam(
                "conversation and conversation_id name two conversations", "conversation"
            )
        return ref or self.conversation_id


def _matches_id(value: str) -> bool:
    return _CONVERSATION_ID.fullmatch(value) is not None


# --- answers (for the OpenAPI document) ------------------------------------------------------


class CompletionUsage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class CompletionMessage(BaseModel):
    role: Literal["assistant"]
    content: str
    refusal: None = None


class CompletionChoice(BaseModel):
    index: int
    message: CompletionMessage
    finish_reason: Literal["stop", "length"]
    logprobs: None = None


class FastWrapOut(BaseModel):
    """FastWrap's extension: where the turn was stored (stateful), and the knowledge it used."""

    conversation_id: str | None
    expires_at: str | None
    sources: list[SourceOut]


class ChatCompletionOut(BaseModel):
    id: str
    object: Literal["chat.completion"]
    created: int
    model: str
    choices: list[CompletionChoice]
    usage: CompletionUsage
    system_fingerprint: None = None
    fastwrap: FastWrapOut
