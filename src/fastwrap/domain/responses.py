"""Responses: a turn named by where its reply is stored, so it lives and dies with its
conversation (SPEC §12).

A response id encodes (conversation id, the reply's number, a random tag kept in the reply's
details). No index maps ids to conversations: finding a response reads its conversation, and
forgetting the conversation (by DELETE, TTL or the tenant's deletion) forgets its responses with
nothing left to clean up. The tag tells a reply from one that took the same number in a
conversation deleted and started again under the same id. A response that was not stored has an
id with no conversation in it, which nothing can be found or continued from.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal
from uuid import UUID

from fastwrap.domain.chat import ChatService, TurnRequest, TurnResult, TurnStarted
from fastwrap.domain.errors import Invalid, NotFound
from fastwrap.domain.model import (
    CONVERSATION_ID_RE,
    NO_OPTIONS,
    ChatDelta,
    Conversation,
    JsonObject,
    Message,
    ModelOptions,
    PromptMessage,
    SearchHit,
    Usage,
)
from fastwrap.domain.turns import REPLY_GONE, Position, visible_to
from fastwrap.ports.clock import Clock
from fastwrap.ports.conversations import ConversationStore

RESPONSE_PREFIX = "resp_"
ITEM_PREFIX = "msg_"
UNSTORED = "response was not stored (store: false) and cannot be continued"
METADATA_KEYS, METADATA_KEY_CHARS, METADATA_VALUE_CHARS = 16, 64, 512


class InvalidField(Invalid):
    """Invalid input that names the request field it is about (OpenAI's `param`)."""

    def __init__(self, detail: str, param: str) -> None:
        super().__init__(detail)
        self.param = param


def _pack(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _unpack(text: str) -> str | None:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None


@dataclass(frozen=True, slots=True, kw_only=True)
class ResponseRef:
    """What a response id says: its conversation (None: not stored) and reply position."""

    conversation_id: str | None
    seq: int
    tag: str

    def encode(self) -> str:
        return RESPONSE_PREFIX + _pack(f"{self.seq}.{self.tag}.{self.conversation_id or ''}")

    @classmethod
    def decode(cls, response_id: str) -> ResponseRef:
        """NotFound for anything that is not an id this server gave."""
        raw = _unpack(response_id.removeprefix(RESPONSE_PREFIX))
        parts = raw.split(".", 2) if raw is not None else []
        seq, tag, conversation_id = parts if len(parts) == 3 else ("", "", "")
        named = not conversation_id or CONVERSATION_ID_RE.fullmatch(conversation_id) is not None
        if not response_id.startswith(RESPONSE_PREFIX) or not seq.isdigit() or not tag or not named:
            raise NotFound("response not found")
        return cls(conversation_id=conversation_id or None, seq=int(seq), tag=tag)

    def position(self) -> Position:
        return Position(seq=self.seq, tag=self.tag)


def item_id(conversation_id: str, seq: int) -> str:
    """A stored message's item id: its conversation and number."""
    return ITEM_PREFIX + _pack(f"{seq}.{conversation_id}")


def item_seq(conversation_id: str, value: str) -> int:
    """The number of the message `value` names in `conversation_id`; Invalid if it names none."""
    raw = _unpack(value.removeprefix(ITEM_PREFIX)) or ""
    seq, _, of = raw.partition(".")
    if not value.startswith(ITEM_PREFIX) or not seq.isdigit() or of != conversation_id:
        raise InvalidField(f"{value!r} is not an item of this conversation", "after")
    return int(seq)


def check_metadata(metadata: JsonObject) -> JsonObject:
    """OpenAI's rule: up to 16 string pairs, keys up to 64 characters, values up to 512."""
    if len(metadata) > METADATA_KEYS or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()
    ):
        raise InvalidField(
            f"metadata is up to {METADATA_KEYS} string keys with string values", "metadata"
        )
    if any(
        len(k) > METADATA_KEY_CHARS or len(v) > METADATA_VALUE_CHARS for k, v in metadata.items()
    ):
        raise InvalidField(
            f"metadata keys are up to {METADATA_KEY_CHARS} characters, "
            f"values up to {METADATA_VALUE_CHARS}",
            "metadata",
        )
    return dict(metadata)


@dataclass(frozen=True, slots=True, kw_only=True)
class ResponseRequest:
    """`input` in order; system messages among them are instructions for this response only.
    `model` is echoed as the caller named the character; `end_user`, `options` and `key_id`
    mean what they mean in a TurnRequest."""

    character_id: UUID
    model: str
    input: tuple[PromptMessage, ...]
    instructions: str | None = None
    previous_response_id: str | None = None
    conversation_id: str | None = None
    store: bool = True
    metadata: JsonObject = field(default_factory=dict)
    end_user: str | None = None
    options: ModelOptions = NO_OPTIONS
    key_id: UUID | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Response:
    """A response as OpenAI's API shows it; `text` is empty while it is `in_progress`."""

    id: str
    status: Literal["in_progress", "completed"]
    created_at: datetime
    model: str
    text: str
    item_id: str
    usage: Usage = field(default_factory=Usage)
    conversation_id: str | None = None
    previous_response_id: str | None = None
    instructions: str | None = None
    metadata: JsonObject = field(default_factory=dict)
    expires_at: datetime | None = None
    sources: tuple[SearchHit, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class _Asked:
    """A request turned into a turn: what the reply's details keep, and what the answer echoes."""

    turn: TurnRequest
    tag: str
    request: ResponseRequest
    created_at: datetime

    def response(self, started: TurnStarted | TurnResult) -> Response:
        """The response in progress (TurnStarted) or completed (TurnResult)."""
        stored = started.position > 0
        continued = self.request.conversation_id is not None or self.turn.after is not None
        conversation_id = started.conversation_id if stored or continued else None
        ref = ResponseRef(
            conversation_id=started.conversation_id if stored else None,
            seq=started.position,
            tag=self.tag,
        )
        done = started if isinstance(started, TurnResult) else None
        return Response(
            id=ref.encode(),
            status="in_progress" if done is None else "completed",
            created_at=self.created_at,
            model=self.request.model,
            text="" if done is None else done.reply.content,
            item_id=(
                item_id(started.conversation_id, started.position)
                if stored
                else ITEM_PREFIX + self.tag
            ),
            usage=Usage() if done is None else done.reply.usage,
            conversation_id=conversation_id,
            previous_response_id=self.request.previous_response_id,
            instructions=self.request.instructions,
            metadata=self.request.metadata,
            expires_at=None if done is None else done.expires_at,
            sources=() if done is None else done.sources,
        )


class ResponseService:
    def __init__(
        self, *, chat: ChatService, conversations: ConversationStore, clock: Clock
    ) -> None:
        self._chat = chat
        self._conversations = conversations
        self._clock = clock

    def _ask(self, request: ResponseRequest) -> _Asked:
        if request.conversation_id is not None and request.previous_response_id is not None:
            raise InvalidField(
                "give conversation or previous_response_id, not both", "previous_response_id"
            )
        *rest, last = request.input or (PromptMessage(role="system", content=""),)
        if last.role != "user":
            raise InvalidField("input must end with a user message", "input")
        system = [m.content for m in rest if m.role == "system"]
        instructions = "\n\n".join(t for t in (request.instructions, *system) if t) or None
        conversation_id, after = request.conversation_id, None
        if request.previous_response_id is not None:
            ref = ResponseRef.decode(request.previous_response_id)
            if ref.conversation_id is None:
                raise InvalidField(UNSTORED, "previous_response_id")
            conversation_id, after = ref.conversation_id, ref.position()
        preceding = tuple(m for m in rest if m.role != "system")
        tag, now = secrets.token_hex(6), self._clock.now()
        kept = {
            "tag": tag,
            "model": request.model,
            "instructions": request.instructions,
            "metadata": dict(check_metadata(request.metadata)) or None,
            "previous_response_id": request.previous_response_id,
            "inputs": len(preceding) + 1,
            "created_at": now.isoformat(),
        }
        details = {k: v for k, v in kept.items() if v is not None}  # stored with every reply
        turn = TurnRequest(
            character_id=request.character_id,
            content=last.content,
            conversation_id=conversation_id,
            end_user=request.end_user,
            instructions=instructions,
            preceding=preceding,
            after=after,
            store=request.store,
            details=details,
            options=request.options,
            key_id=request.key_id,
        )
        return _Asked(turn=turn, tag=tag, request=request, created_at=now)

    async def create(self, client_id: UUID, request: ResponseRequest) -> Response:
        asked = self._ask(request)
        result = await self._chat.turn(client_id, asked.turn)
        return asked.response(result)

    async def stream(
        self, client_id: UUID, request: ResponseRequest
    ) -> AsyncIterator[Response | ChatDelta]:
        """The response in progress, its text's deltas, then the response completed (stored).

        Refusals come before the first yield; a failure after it stores nothing."""
        asked = self._ask(request)
        events = await self._chat.stream_turn_events(client_id, asked.turn)
        return _stream(asked, events)

    async def _found(
        self, client_id: UUID, response_id: str, end_user: str | None
    ) -> tuple[ResponseRef, Conversation, Message]:
        ref = ResponseRef.decode(response_id)
        if ref.conversation_id is None:
            raise NotFound("response not found: it was not stored (store: false)")
        conversation = await self._conversations.get(client_id, ref.conversation_id)
        if conversation is None or not visible_to(conversation, end_user):
            raise NotFound(REPLY_GONE)
        position = ref.position()
        reply = next((m for m in conversation.messages if position.marks(m)), None)
        if reply is None:
            raise NotFound(REPLY_GONE)
        return ref, conversation, reply

    async def get(
        self, client_id: UUID, response_id: str, *, end_user: str | None = None
    ) -> Response:
        _, conversation, reply = await self._found(client_id, response_id, end_user)
        return stored_response(conversation, reply)

    async def delete(
        self, client_id: UUID, response_id: str, *, end_user: str | None = None
    ) -> None:
        """Remove the response's input and reply from its conversation."""
        ref, conversation, reply = await self._found(client_id, response_id, end_user)
        inputs = _inputs(reply)
        seqs = range(ref.seq - inputs, ref.seq + 1)
        await self._conversations.remove(client_id, conversation.id, seqs)

    async def input_items(
        self, client_id: UUID, response_id: str, *, end_user: str | None = None
    ) -> tuple[str, tuple[Message, ...]]:
        """The conversation id and the messages the response was given as input, oldest first."""
        ref, conversation, reply = await self._found(client_id, response_id, end_user)
        first = ref.seq - _inputs(reply)
        return conversation.id, tuple(m for m in conversation.messages if first <= m.seq < ref.seq)


def _inputs(reply: Message) -> int:
    inputs = (reply.details or {}).get("inputs", 1)
    return inputs if isinstance(inputs, int) and inputs > 0 else 1


async def _stream(
    asked: _Asked, events: AsyncIterator[TurnStarted | ChatDelta | TurnResult]
) -> AsyncIterator[Response | ChatDelta]:
    async for event in events:
        yield event if isinstance(event, ChatDelta) else asked.response(event)


def stored_response(conversation: Conversation, reply: Message) -> Response:
    """A stored reply as the response it was, from what its details kept."""
    details: Mapping[str, object] = reply.details or {}
    created = details.get("created_at")
    metadata = details.get("metadata")
    previous = details.get("previous_response_id")
    instructions, model = details.get("instructions"), details.get("model")
    ref = ResponseRef(conversation_id=conversation.id, seq=reply.seq, tag=str(details.get("tag")))
    return Response(
        id=ref.encode(),
        status="completed",
        created_at=datetime.fromisoformat(created)
        if isinstance(created, str)
        else reply.created_at,
        model=model if isinstance(model, str) else str(conversation.character_id),
        text=reply.content,
        item_id=item_id(conversation.id, reply.seq),
        usage=reply.usage or Usage(),
        conversation_id=conversation.id,
        previous_response_id=previous if isinstance(previous, str) else None,
        instructions=instructions if isinstance(instructions, str) else None,
        metadata=metadata if isinstance(metadata, dict) else {},
        expires_at=conversation.expires_at,
    )
