"""ChatOpenAI, minus the openai SDK's per-message request transform."""

from __future__ import annotations

from typing import Any

from langchain_openai import ChatOpenAI


class MessagesInBodyChatOpenAI(ChatOpenAI):
    """Sends the messages through `extra_body`, which the SDK merges into the JSON body as it is.

    `chat.completions.create` otherwise walks every message against the TypedDict union of all
    message kinds (openai/_utils/_transform.py), about 0.1 ms of CPU per message, for a body that
    comes out unchanged: the messages LangChain builds are plain JSON already.
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
