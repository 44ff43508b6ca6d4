"""The Responses API's mapping, without a server: ids, input items, and objects and events
that OpenAI's own SDK types accept as they are (validated, not merely constructed)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st
from openai.types.conversations import Conversation as SdkConversation
from openai.types.conversations import ConversationItemList
from openai.types.responses import Response as SdkResponse
from openai.types.responses import ResponseStreamEvent
from pydantic import TypeAdapter

from fastwrap.container import make_container
from fastwrap.domain.errors import Invalid, NotFound
from fastwrap.domain.model import Conversation, Message, PromptMessage, Usage
from fastwrap.domain.responses import (
    Response,
    ResponseRef,
    check_metadata,
    item_id,
    item_seq,
)
from fastwrap.entrypoints.http.app import create_app
from fastwrap.entrypoints.http.openai.errors import InvalidParam
from fastwrap.entrypoints.http.openai.response_events import EventWriter
from fastwrap.entrypoints.http.openai.response_input import messages
from fastwrap.entrypoints.http.openai.response_objects import (
    Echo,
    conversation_object,
    item_list,
    response_object,
)
from fastwrap.entrypoints.http.openai.response_schemas import (
    ConversationOut,
    ItemListOut,
    ResponseOut,
)
from tests.support.app import hermetic_settings

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
conversation_ids = st.from_regex(r"[A-Za-z0-9._:-]{1,128}", fullmatch=True)
EVENTS: TypeAdapter[Any] = TypeAdapter(ResponseStreamEvent)


def response(status: str = "completed", text: str = "Arr") -> Response:
    return Response(
        id=ResponseRef(conversation_id="c.1:x", seq=2, tag="abc").encode(),
        status=status,  # type: ignore[arg-type]
        created_at=T0,
        model="Pirate",
        text=text,
        item_id=item_id("c.1:x", 2),
        usage=Usage(input_tokens=7, output_tokens=None),
        conversation_id="c.1:x",
        metadata={"k": "v"},
        expires_at=T0,
    )


@given(
    conversation_ids,
    st.integers(min_value=1, max_value=10**6),
    st.text("0123456789abcdef", min_size=1, max_size=12),
)
def test_a_response_id_says_where_its_reply_is(conversation: str, seq: int, tag: str) -> None:
    ref = ResponseRef(conversation_id=conversation, seq=seq, tag=tag)
    encoded = ref.encode()

    assert encoded.startswith("resp_")
    assert encoded.removeprefix("resp_").replace("-", "").replace("_", "").isalnum()
    assert ResponseRef.decode(encoded) == ref


@given(conversation_ids, st.integers(min_value=1, max_value=10**6))
def test_an_item_id_names_a_message_of_one_conversation(conversation: str, seq: int) -> None:
    assert item_seq(conversation, item_id(conversation, seq)) == seq
    with pytest.raises(Invalid):
        item_seq(conversation + "x", item_id(conversation, seq))


def test_an_id_naming_no_possible_conversation_is_no_response() -> None:
    forged = "resp_" + base64.urlsafe_b64encode(b"2.tag.bad key*\n").decode().rstrip("=")
    with pytest.raises(NotFound):
        ResponseRef.decode(forged)


def test_an_unstored_response_id_has_no_conversation() -> None:
    ref = ResponseRef.decode(ResponseRef(conversation_id=None, seq=0, tag="t").encode())
    assert ref.conversation_id is None


@pytest.mark.parametrize("bogus", ["", "resp_", "resp_!!!", "resp_" + "YWJj", "msg_abc", "x" * 300])
def test_anything_else_is_no_response(bogus: str) -> None:
    with pytest.raises(NotFound):
        ResponseRef.decode(bogus)


def test_input_is_a_string_or_messages_of_text() -> None:
    assert messages("Ahoy") == (PromptMessage(role="user", content="Ahoy"),)
    assert messages(
        [
            {"role": "developer", "content": "Be brief."},
            {
                "type": "message",
                "role": "assistant",
                "content": [{"type": "output_text", "text": "A", "annotations": []}],
            },
            {
                "role": "user",
                "content": [
                    {"type": "input_text", "text": "B"},
                    {"type": "input_text", "text": "C"},
                ],
            },
        ]
    ) == (
        PromptMessage(role="system", content="Be brief."),
        PromptMessage(role="assistant", content="A"),
        PromptMessage(role="user", content="BC"),
    )


@pytest.mark.parametrize(
    ("item", "param"),
    [
        ({"type": "function_call_output", "call_id": "x", "output": "y"}, "input[0]"),
        ({"role": "tool", "content": "x"}, "input[0].role"),
        (
            {"role": "user", "content": [{"type": "input_image", "image_url": "u"}]},
            "input[0].content[0]",
        ),
        ({"role": "user", "content": []}, "input[0].content"),
        ({"role": "user", "content": [{"type": "input_text"}]}, "input[0].content[0].text"),
        ("just a string", "input[0]"),
    ],
)
def test_other_items_are_refused_naming_the_item(item: Any, param: str) -> None:
    with pytest.raises(InvalidParam) as raised:
        messages([item])
    assert raised.value.param == param


def test_metadata_follows_openais_limits() -> None:
    assert check_metadata({"k" * 64: "v" * 512}) == {"k" * 64: "v" * 512}
    for bad in ({f"k{i}": "v" for i in range(17)}, {"k" * 65: "v"}, {"k": "v" * 513}, {"k": 1}):
        with pytest.raises(Invalid):
            check_metadata(bad)


def test_a_response_object_is_openais_response() -> None:
    body = response_object(response(), Echo(temperature=0.5, user="u1"))
    parsed = SdkResponse.model_validate(body)

    assert parsed.output_text == "Arr"
    assert parsed.usage is not None
    assert (parsed.usage.input_tokens, parsed.usage.output_tokens, parsed.usage.total_tokens) == (
        7,
        0,
        7,
    )
    assert parsed.conversation is not None
    assert parsed.conversation.id == "c.1:x"
    assert (parsed.temperature, parsed.user, parsed.metadata) == (0.5, "u1", {"k": "v"})
    assert body["fastwrap"] == {
        "conversation_id": "c.1:x",
        "expires_at": T0.isoformat(),
        "sources": [],
    }
    assert (
        SdkResponse.model_validate(response_object(response("in_progress", ""), Echo())).output
        == []
    )


def test_the_events_are_openais_in_order_and_numbered() -> None:
    writer = EventWriter(Echo())
    started, done = response("in_progress", ""), response("completed", "Arr matey")
    frames = [
        *writer.opening(started),
        writer.delta(started, "Arr"),
        writer.delta(started, " matey"),
        *writer.closing(done),
    ]

    events = []
    for frame in frames:
        head, data = frame.decode().strip().split("\n")
        event = EVENTS.validate_python(orjson.loads(data.removeprefix("data: ")))
        assert head == f"event: {event.type}"
        events.append(event)
    assert [e.type for e in events] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [e.sequence_number for e in events] == list(range(10))
    assert events[-1].response.output_text == "Arr matey"


def test_a_failure_is_response_failed_once_it_exists_else_an_error_event() -> None:
    error = {"code": "upstream_timeout", "message": "too slow"}
    failed = EVENTS.validate_python(
        orjson.loads(
            EventWriter(Echo()).failure(response("in_progress", ""), error).split(b"data: ")[1]
        )
    )
    early = EVENTS.validate_python(
        orjson.loads(EventWriter(Echo()).failure(None, error).split(b"data: ")[1])
    )

    assert failed.type == "response.failed"
    assert (failed.response.status, failed.response.error.code) == ("failed", "server_error")
    assert failed.response.error.message == "upstream_timeout: too slow"
    assert (early.type, early.code, early.message) == ("error", "upstream_timeout", "too slow")


def test_conversations_and_items_are_openais() -> None:
    conversation = Conversation(
        id="conv_1",
        client_id=uuid4(),
        character_id=None,
        messages=(),
        expires_at=T0,
        metadata={"a": "b"},
        created_at=T0,
    )
    stored = (
        Message(role="user", content="Q", created_at=T0, seq=1),
        Message(role="assistant", content="A", created_at=T0, seq=2),
    )

    parsed = SdkConversation.model_validate(conversation_object(conversation))
    listed = ConversationItemList.model_validate(item_list("conv_1", stored, has_more=False))

    assert (parsed.id, parsed.metadata, parsed.created_at) == (
        "conv_1",
        {"a": "b"},
        int(T0.timestamp()),
    )
    assert [(i.role, i.content[0].text) for i in listed.data] == [("user", "Q"), ("assistant", "A")]  # type: ignore[union-attr]
    assert (listed.first_id, listed.last_id) == (item_id("conv_1", 1), item_id("conv_1", 2))


def test_the_documented_shapes_are_the_ones_sent() -> None:
    conversation = Conversation(
        id="conv_1", client_id=uuid4(), character_id=None, messages=(), expires_at=T0,
        created_at=T0,
    )  # fmt: skip
    stored = (Message(role="user", content="Q", created_at=T0, seq=1),)

    ResponseOut.model_validate(response_object(response(), Echo()))
    ResponseOut.model_validate(response_object(response("in_progress", ""), Echo()))
    ConversationOut.model_validate(conversation_object(conversation))
    ItemListOut.model_validate(item_list("conv_1", stored, has_more=True))


def test_the_routes_are_documented_under_the_openai_tag() -> None:
    document = create_app(make_container(hermetic_settings())).openapi()
    paths = {
        "/v1/responses": {"post"},
        "/v1/responses/{response_id}": {"get", "delete"},
        "/v1/responses/{response_id}/input_items": {"get"},
        "/v1/conversations": {"post"},
        "/v1/conversations/{conversation_id}": {"get", "post", "delete"},
        "/v1/conversations/{conversation_id}/items": {"get"},
    }
    for path, methods in paths.items():
        for method in methods:
            assert document["paths"][path][method]["tags"] == ["openai"], (path, method)
    streamed = document["paths"]["/v1/responses"]["post"]["responses"]["200"]["content"]
    assert set(streamed) == {"application/json", "text/event-stream"}
