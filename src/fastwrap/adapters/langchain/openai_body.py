"""ChatOpenAI, minus the openai SDK's per-message request transform and a thread hop per call."""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun
from langchain_core.messages import BaseMessage
from langchain_core.outputs import ChatResult
from langchain_openai import ChatOpenAI


class MessagesInBodyChatOpenAI(ChatOpenAI):
    """Sends the messages through `extra_body`, which the SDK merges into the JSON body as it is.

    `chat.completions.create` otherwise walks every message against the TypedDict union of all
    message kinds (openai/_utils/_transform.py), about 0.1 ms of CPU per message, for a body that
    comes out unchanged: the messages LangChain builds are plain JSON already.

    A plain chat completion (no structured output, no Responses API, no response headers
    wanted) is also made without the raw-response wrapper and builds its result inline:
    langchain-openai hands that small conversion to a thread pool, a thread hop per call.
    Anything else goes through ChatOpenAI's own `_agenerate`.
    """

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
        plain = (
            "extra_body" in payload
            and "response_format" not in payload
            and not self.include_response_headers
            and not self._use_responses_api(payload)
        )
        if not plain:
            return await super()._agenerate(messages, stop, run_manager, **kwargs)
        response = await self.async_client.create(**payload)
        return self._create_chat_result(response)
