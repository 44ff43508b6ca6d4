"""The plain lane's request is the one LangChain builds, and the lane opens only where it may.

No network: this compares what each lane would hand to `chat.completions.create` for any
conversation (tests/integration/test_openai_lanes.py compares what the stub receives).
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from langchain_core.caches import InMemoryCache
from langchain_core.callbacks import AsyncCallbackHandler
from langchain_core.globals import set_llm_cache
from langchain_core.rate_limiters import InMemoryRateLimiter

from fastwrap.adapters.langchain.chat_model import call_arguments, to_langchain
from fastwrap.adapters.langchain.openai_chat import (
    MessagesInBodyChatOpenAI,
    PlainCompletion,
    plain_completion,
)
from fastwrap.domain.model import ModelOptions, PromptMessage

LOCAL = "http://127.0.0.1:9/v1"  # never called
CONVERSATIONS = st.lists(
    st.builds(
        PromptMessage, role=st.sampled_from(["system", "user", "assistant"]), content=st.text()
    ),
    max_size=8,
)


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

    assert lane.request(messages) == chat._get_request_payload(to_langchain(messages))


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
    assert lane.request(messages, options) == sent


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
