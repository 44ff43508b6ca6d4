"""ChatOpenAI, minus the openai SDK's per-message request transform and a thread hop per call."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_core.outputs import ChatResult
from langchain_openai import ChatOpenAI
from openai.types.chat import ChatCompletion
from pydantic import PrivateAttr

# A probe conversation: the plain lane is used only if it builds LangChain's request for it.
_PROBE = (("system", "s"), ("user", "u"), ("assistant", "a"))
_PROBE_MESSAGES = (SystemMessage("s"), HumanMessage("u"), AIMessage("a"))


class PlainReply(NamedTuple):
    text: str
    input_tokens: int | None
    output_tokens: int | None


class MessagesInBodyChatOpenAI(ChatOpenAI):
    """Sends the messages through `extra_body`, which the SDK merges into the JSON body as it is.

    `chat.completions.create` otherwise walks every message against the TypedDict union of all
    message kinds (openai/_utils/_transform.py), about 0.1 ms of CPU per message, for a body that
    comes out unchanged: the messages LangChain builds are plain JSON already.

    A plain chat completion (no structured output, no Responses API, no response headers
    wanted) is also made without the raw-response wrapper and builds its result inline:
    langchain-openai hands that small conversion to a thread pool, a thread hop per call.
    Anything else goes through ChatOpenAI's own `_agenerate`.

    `acomplete_plain` goes one step further for a conversation of plain strings: it sends the
    request without building LangChain message objects and reads the reply without building an
    `AIMessage` (~0.15 ms of CPU per call with a short history).
    """

    # Decided, and the payload's other fields built, on the first plain call: the model's
    # settings are fixed once it is built.
    _plain_lane: bool | None = PrivateAttr(default=None)
    _plain_base: dict[str, Any] | None = PrivateAttr(default=None)

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

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        payload = self._get_request_payload(messages, stop=stop, **kwargs)
        if "extra_body" not in payload or not self._plain_completion(payload):
            return await super()._agenerate(messages, stop, run_manager, **kwargs)
        response = await self.async_client.create(**payload)
        return self._create_chat_result(response)

    async def acomplete_plain(self, messages: Sequence[tuple[str, str]]) -> PlainReply | None:
        """One completion of `(role, content)` string messages; None when this model is set up
        for more than a plain completion (then use `_agenerate`).

        The request is the one `_agenerate` sends for the same messages as LangChain messages:
        checked once per model on a probe conversation (LangChain rewrites roles for some
        models, for example), and the lane stays closed if it differs. A reply other than
        plain text (tool calls, a refusal, an error body) is read by LangChain's own code.
        """
        if self._plain_lane is None:
            base = self._payload_but_messages()
            self._plain_base = base
            self._plain_lane = base is not None and _with_messages(
                base, _PROBE
            ) == self._get_request_payload(list(_PROBE_MESSAGES))
        if not self._plain_lane or self._plain_base is None:
            return None
        payload = _with_messages(self._plain_base, messages)
        response = await self.async_client.create(**payload)
        plain = _plain_reply(response)
        if plain is not None:
            return plain
        message = self._create_chat_result(response).generations[0].message
        usage = getattr(message, "usage_metadata", None) or {}
        return PlainReply(str(message.text), usage.get("input_tokens"), usage.get("output_tokens"))

    def _payload_but_messages(self) -> dict[str, Any] | None:
        """ChatOpenAI's request payload without messages; None if not a plain completion."""
        payload: dict[str, Any] = super()._get_request_payload([])
        if "messages" not in payload or not self._plain_completion(payload):
            return None
        return payload

    def _plain_completion(self, payload: dict[str, Any]) -> bool:
        """A Chat Completions request answered by a plain completion: no structured output,
        no Responses API, no response headers wanted."""
        return (
            "response_format" not in payload
            and not self.include_response_headers
            and not self._use_responses_api(payload)
        )


def _with_messages(base: dict[str, Any], messages: Sequence[tuple[str, str]]) -> dict[str, Any]:
    extra = dict(base.get("extra_body") or {})
    extra["messages"] = [{"content": content, "role": role} for role, content in messages]
    return {**base, "extra_body": extra}


def _plain_reply(response: Any) -> PlainReply | None:
    """Text and token counts of a plain text completion; None for anything else."""
    if type(response) is not ChatCompletion or (response.model_extra or {}).get("error"):
        return None
    choices = response.choices
    if not choices:
        return None
    message = choices[0].message
    if (
        type(message.content) is not str
        or message.tool_calls
        or message.function_call
        or message.refusal
        or message.audio
    ):
        return None
    usage = response.usage
    if usage is None:
        return PlainReply(message.content, None, None)
    # As LangChain's usage metadata: a count the provider left out is 0.
    return PlainReply(message.content, usage.prompt_tokens or 0, usage.completion_tokens or 0)
