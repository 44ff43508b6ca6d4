"""The plain lane's request is the one LangChain builds, and the lane opens only where it may.

No network: this compares what each lane would hand to `chat.completions.create` for any
conversation (tests/integration/test_openai_lanes.py compares what the stub receives).
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from langchain_core.caches import InMemoryCache
from langchain_core.callbacks import AsyncCallbackHandler
from langchain_core.globals import set_llm_cache
from langchain_core.rate_limiters import InMemoryRateLimiter
from openai import omit
from openai._models import construct_type
from openai.types.chat import ChatCompletion

from fastwrap.adapters.langchain.chat_model import call_arguments, to_langchain
from fastwrap.adapters.langchain.openai_chat import (
    MessagesInBodyChatOpenAI,
    PlainCompletion,
    _plain_json,
    _plain_reply,
    plain_completion,
)
from fastwrap.domain.model import ChatReply, ModelOptions, PromptMessage, Usage

LOCAL = "http://127.0.0.1:9/v1"  # never called
CONVERSATIONS = st.lists(
    st.builds(
        PromptMessage, role=st.sampled_from(["system", "user", "assistant"]), content=st.text()
    ),
    max_size=8,
)


def _body(arguments: dict[str, Any]) -> dict[str, Any]:
    """The JSON body `chat.completions.create(**arguments)` sends: its given arguments, with
    `extra_body` merged over them (tests/integration/test_openai_lanes.py reads it on the wire)."""
    given = {k: v for k, v in arguments.items() if k != "extra_body" and v is not omit}
    return given | arguments.get("extra_body", {})


def _chat(**settings: Any) -> MessagesInBodyChatOpenAI:
    return MessagesInBodyChatOpenAI(**({"model": "gpt-4o-mini", "api_key": "k"} | settings))


@cache
def _open_lane(
    model: str, temperature: float | None
) -> tuple[MessagesInBodyChatOpenAI, PlainCompletion]:
    chat = _chat(model=model, temperature=temperature, base_url=LOCAL, max_retries=0)
    lane = plain_completion(chat)
    assert lane is not None, f"the plain lane is closed for {model}"
    return chat, lane


@pytest.mark.parametrize(
    ("model", "temperature"),
    [("gpt-4o-mini", None), ("gpt-4.1", 0.7), ("gpt-5-mini", None), ("llama3:8b", 0.0)],
)
@settings(deadline=None)  # the first example builds the model
@given(messages=CONVERSATIONS)
def test_the_plain_request_is_the_one_langchain_builds(
    model: str, temperature: float | None, messages: list[PromptMessage]
) -> None:
    chat, lane = _open_lane(model, temperature)

    assert _body(lane.request(messages)) == _body(chat._get_request_payload(to_langchain(messages)))


@settings(deadline=None)
@given(
    messages=CONVERSATIONS,
    options=st.builds(
        ModelOptions,
        temperature=st.none() | st.floats(0, 2, allow_nan=False),
        max_output_tokens=st.none() | st.integers(1, 100_000),
    ),
)
def test_a_calls_options_reach_the_plain_request_as_langchain_sends_them(
    messages: list[PromptMessage], options: ModelOptions
) -> None:
    chat, lane = _open_lane("gpt-4.1", 0.7)

    sent = chat._get_request_payload(to_langchain(messages), **call_arguments(options))
    assert _body(lane.request(messages, options)) == _body(sent)


@pytest.fixture
def _no_global_cache() -> Iterator[None]:
    yield
    set_llm_cache(None)


CLOSED = {
    "o1": {"model": "o1"},
    "o3-mini": {"model": "o3-mini"},  # system prompts go as `developer`
    "o4-mini": {"model": "o4-mini"},
    "gpt-5-pro": {"model": "gpt-5-pro"},  # the Responses API only
    "codex": {"model": "gpt-5.1-codex"},
    "responses-api": {"use_responses_api": True},
    "structured-output": {"model_kwargs": {"response_format": {"type": "json_object"}}},
    "response-headers": {"include_response_headers": True},
    "callbacks": {"callbacks": [AsyncCallbackHandler()]},
    "verbose": {"verbose": True},
    "cache": {"cache": InMemoryCache()},
    "rate-limiter": {"rate_limiter": InMemoryRateLimiter()},
    "streaming": {"streaming": True},
}


@pytest.mark.parametrize("options", CLOSED.values(), ids=CLOSED.keys())
def test_the_plain_lane_stays_closed_where_the_request_or_the_run_is_more(
    options: dict[str, Any],
) -> None:
    assert plain_completion(_chat(**options)) is None


@pytest.mark.usefixtures("_no_global_cache")
def test_langchains_global_cache_closes_the_lane_unless_the_model_turns_caching_off() -> None:
    set_llm_cache(InMemoryCache())

    assert plain_completion(_chat()) is None
    assert plain_completion(_chat(cache=False)) is not None


# Reply bodies near the plain one: each part either well-formed or something else JSON allows.
_ANY_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=2) | st.dictionaries(st.text(max_size=5), inner, max_size=2)
    ),
    max_leaves=4,
)
_COUNT = st.integers(min_value=0, max_value=10**9) | st.none() | _ANY_JSON
_USAGE = (
    st.fixed_dictionaries(
        {"prompt_tokens": _COUNT, "completion_tokens": _COUNT},
        optional={"total_tokens": _COUNT},
    )
    | st.none()
    | _ANY_JSON
)
_MESSAGE = (
    st.fixed_dictionaries(
        {"role": st.just("assistant"), "content": st.text(max_size=5) | st.none() | _ANY_JSON},
        optional={"refusal": _ANY_JSON},
    )
    | _ANY_JSON
)
_CHOICE = (
    st.fixed_dictionaries(
        {"index": st.just(0), "message": _MESSAGE, "finish_reason": st.just("stop")}
    )
    | _ANY_JSON
)
_BODY = (
    st.fixed_dictionaries(
        {
            "id": st.just("c1"),
            "object": st.just("chat.completion"),
            "created": st.just(1),
            "model": st.just("m"),
            "choices": st.lists(_CHOICE, min_size=1, max_size=2) | _ANY_JSON,
        },
        optional={"usage": _USAGE, "error": _ANY_JSON},
    )
    | _ANY_JSON
)


def _odd_counts(body: Any) -> bool:
    """A body whose usage the plain lane leaves to the SDK's model: not an object, or a count
    that is neither a whole number nor absent."""
    usage = body.get("usage") if type(body) is dict else None
    if usage is None:
        return False
    if type(usage) is not dict:
        return True
    counts = (usage.get("prompt_tokens"), usage.get("completion_tokens"))
    return any(type(c) not in (int, type(None)) for c in counts)


@settings(max_examples=1000)
@given(body=_BODY)
def test_the_plain_lane_reads_a_reply_body_as_the_sdks_model_of_it_reads(body: Any) -> None:
    """`_plain_json` (the body's JSON) takes as plain text what `_plain_reply` (the SDK's
    ChatCompletion of it) does, with the same counts; whatever it leaves, the SDK's model reads."""
    read = _plain_json(orjson.dumps(body))
    try:
        modelled: object = _plain_reply(construct_type(type_=ChatCompletion, value=body))
    except Exception as exc:  # an odd body LangChain's reading then fails on, as before
        modelled = exc
    if read is not None:
        assert read == modelled
    else:  # left to the SDK's model: only what it would not read as text, or odd counts
        assert modelled is None or isinstance(modelled, Exception) or _odd_counts(body)


def test_the_plain_lane_reads_a_text_reply_from_its_json() -> None:
    body = {
        "id": "c1",
        "object": "chat.completion",
        "created": 1,
        "model": "m",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": 7, "completion_tokens": 2, "total_tokens": 9},
    }
    assert _plain_json(orjson.dumps(body)) == ChatReply(
        content="hi", usage=Usage(input_tokens=7, output_tokens=2)
    )
    # An error next to the text is no plain reply (the SDK keeps it as an extra field).
    assert _plain_json(orjson.dumps(body | {"error": {"message": "overloaded"}})) is None


def test_the_plain_lane_leaves_a_body_that_is_not_json_to_the_sdk() -> None:
    assert _plain_json(b"<html>bad gateway</html>") is None
    assert _plain_json(b"") is None
