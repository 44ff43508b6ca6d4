"""ChatOpenAI as FastWrap calls it: the messages in `extra_body`, and a plain completion lane.

`MessagesInBodyChatOpenAI` sends the messages through `extra_body`, which the openai SDK merges
into the JSON body as it is: `chat.completions.create` otherwise walks every message against the
TypedDict union of all message kinds (openai/_utils/_transform.py), 0.1 ms of CPU per message or
more, for a body that comes out unchanged (the messages LangChain builds are plain JSON).

`PlainCompletion` is the lane an untraced reply takes when nothing is hooked into the model
(chosen once, by `plain_completion` in build_chat_model): the same request and the same reply as
`ainvoke`, without LangChain's run bookkeeping, its message objects or an `AIMessage` for a text
reply (bench/llm_overhead.py measures both lanes). Its request is the model's own, built once by
LangChain, with the messages added as LangChain would send them; a reply without text content
(a refusal, an error body, no choices) is read by LangChain's own code. The lane reads the
reply's JSON itself (`_plain_json`), through the SDK's public `with_raw_response`: the SDK's
ChatCompletion model of a reply cost about 0.2 ms of CPU a turn (bench/chat.py, docs/benchmarks.md
session 11), for three fields; a reply it does not take as plain text is parsed by the SDK, as
before, and read by `_plain_reply` or LangChain.

The private langchain-openai API this relies on is PRIVATE_API, tested against TESTED_RANGE
(pinned in pyproject.toml). tests/unit/test_openai_request.py and
tests/integration/test_openai_lanes.py fail when an installed version sends or reads otherwise.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import orjson
from langchain_core.globals import get_debug, get_llm_cache
from langchain_openai import ChatOpenAI
from openai import omit
from openai.types.chat import ChatCompletion

from fastwrap.adapters.langchain.chat_model import reply_of
from fastwrap.domain.model import NO_OPTIONS, ChatReply, ModelOptions, PromptMessage, Usage

TESTED_RANGE = ">=1.7.4,<1.8"  # of langchain-openai
PRIVATE_API = (
    # Overridden (the messages into `extra_body`); called once per model for the plain lane.
    "ChatOpenAI._get_request_payload",
    # Called by the plain lane to read a reply without text content, as `_agenerate` does.
    "ChatOpenAI._create_chat_result",
    # The SDK's chat.completions resource ChatOpenAI sends with (a field documented as private).
    "ChatOpenAI.async_client",
)
# Sent by the plain lane in `extra_body` too, as they are: `create` walks its arguments against
# their types, 0.06 ms for `model` (a Literal of every model name) and 0.02 for `stream`. Not in
# MessagesInBodyChatOpenAI's payload, which LangChain's own lane streams with: the SDK reads its
# `stream` argument to know whether the answer is a stream.
IN_BODY = ("model", "stream")
# `ChatOpenAI._get_request_payload` sends system prompts as `developer` to these models.
O_SERIES = re.compile(r"^o\d")


class MessagesInBodyChatOpenAI(ChatOpenAI):
    """ChatOpenAI sending the messages in `extra_body` (see the module docstring)."""

    def _get_request_payload(
        self, input_: Any, *, stop: list[str] | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        payload: dict[str, Any] = super()._get_request_payload(input_, stop=stop, **kwargs)
        if "messages" in payload:
            extra = dict(payload.get("extra_body") or {})
            extra["messages"] = payload["messages"]
            payload["messages"] = []  # create() requires the argument; extra_body replaces it
            payload["extra_body"] = extra
        return payload


class PlainCompletion:
    """One reply of a ChatOpenAI to plain string messages, through its own client."""

    __slots__ = ("_args", "_chat", "_create", "_extra")

    def __init__(self, chat: MessagesInBodyChatOpenAI, base: dict[str, Any]) -> None:
        self._chat = chat
        kept = {k: v for k, v in base.items() if k not in IN_BODY and k != "extra_body"}
        self._args = kept | {"model": omit}  # `create` requires the argument; the body has it
        moved = {k: base[k] for k in IN_BODY if k in base}
        self._extra = moved | dict(base.get("extra_body") or {})  # extra_body's own win, as sent
        # The same call as `async_client.create`, answering the HTTP response unparsed.
        self._create = chat.async_client.with_raw_response.create

    def request(
        self, messages: Sequence[PromptMessage], options: ModelOptions = NO_OPTIONS
    ) -> dict[str, Any]:
        """The arguments of `chat.completions.create` that send the body `ainvoke` sends for
        `messages` with `options` as its keyword arguments (chat_model.call_arguments)."""
        sent = [{"content": m.content, "role": m.role} for m in messages]
        request = {**self._args, "extra_body": {**self._extra, "messages": sent}}
        if options.temperature is not None:
            request["temperature"] = options.temperature
        if options.max_output_tokens is not None:
            request["max_completion_tokens"] = options.max_output_tokens  # as ChatOpenAI names it
        return request

    async def __call__(
        self, messages: Sequence[PromptMessage], options: ModelOptions = NO_OPTIONS
    ) -> ChatReply:
        raw = await self._create(**self.request(messages, options))
        plain = _plain_json(raw.content)
        if plain is not None:
            return plain
        response = raw.parse()
        plain = _plain_reply(response)
        if plain is not None:
            return plain
        return reply_of(self._chat._create_chat_result(response).generations[0].message)


def plain_completion(chat: MessagesInBodyChatOpenAI) -> PlainCompletion | None:
    """The plain lane for `chat`, or None when its replies must go through `ainvoke`.

    None when something is hooked into the model, whose run `ainvoke` would report or change
    (callbacks, verbose or debug output, a cache of its own or LangChain's global one, a rate
    limiter, streaming), or when its request is more than its settings and the messages as they
    are: the Responses API, structured output, response headers wanted, or an o-series model.
    Decided once: the model's settings do not change after it is built.
    """
    cache = chat.cache if chat.cache is not None else get_llm_cache()
    hooked = chat.callbacks or chat.verbose or get_debug() or cache not in (None, False)
    if hooked or chat.rate_limiter is not None or chat.streaming:
        return None
    if chat.include_response_headers or O_SERIES.match(chat.model_name or ""):
        return None
    base: dict[str, Any] = chat._get_request_payload([])
    if "messages" not in base or "response_format" in base:
        return None
    return PlainCompletion(chat, base)


def _plain_json(body: bytes) -> ChatReply | None:
    """What `_plain_reply` reads from the ChatCompletion the SDK would build of `body`, read from
    the JSON itself; None whenever the body is anything but a plain text reply with well-formed
    counts (then the SDK's model of it is read, so an odd reply is read exactly as before).
    tests/unit/test_openai_request.py holds the two readings equal."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if type(data) is not dict or data.get("error"):
        return None
    choices = data.get("choices")
    if type(choices) is not list or not choices or type(choice := choices[0]) is not dict:
        return None
    message = choice.get("message")
    if type(message) is not dict or type(text := message.get("content")) is not str:
        return None
    usage = data.get("usage")
    if usage is None:
        return _reply(text, None)
    if type(usage) is not dict:
        return None
    counts = usage.get("prompt_tokens"), usage.get("completion_tokens")
    if any(type(count) not in (int, type(None)) for count in counts):
        return None
    return _reply(text, counts)


def _plain_reply(response: Any) -> ChatReply | None:
    """The text and token counts of a completion with text content; None for anything else.

    A ChatReply holds no more than that: tool calls or a refusal next to the text would not
    change it (tests/integration/test_openai_lanes.py holds it equal to LangChain's reading).
    """
    if type(response) is not ChatCompletion or (response.model_extra or {}).get("error"):
        return None
    if not response.choices or type(text := response.choices[0].message.content) is not str:
        return None
    usage = response.usage
    return _reply(text, None if usage is None else (usage.prompt_tokens, usage.completion_tokens))


def _reply(text: str, counts: tuple[Any, Any] | None) -> ChatReply:
    """A text reply with the (prompt, completion) token counts the provider reported, if any."""
    if counts is None:
        return ChatReply(content=text, usage=Usage())
    # As LangChain's usage metadata: a count the provider left out is 0.
    prompt, completion = counts
    return ChatReply(
        content=text, usage=Usage(input_tokens=prompt or 0, output_tokens=completion or 0)
    )
