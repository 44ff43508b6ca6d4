"""The Responses and Conversations APIs' input items, read into the domain's messages.

OpenAI's items are many kinds; FastWrap takes messages of text: `{"role", "content"}` with
`content` a string or a list of `input_text` (or, for an assistant's earlier reply,
`output_text`) parts. `developer` reads as `system`. Anything else is a 400 naming the item.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastwrap.domain.model import PromptMessage, PromptRole
from fastwrap.entrypoints.http.openai.errors import InvalidParam

ROLES: dict[str, PromptRole] = {
    "user": "user",
    "assistant": "assistant",
    "system": "system",
    "developer": "system",
}
TEXT_PARTS = frozenset({"input_text", "output_text", "text"})


def _text(content: Any, param: str) -> str:
    if isinstance(content, str):
        return content
    if not isinstance(content, list) or not content:
        raise InvalidParam("content must be a string or a list of text parts", param)
    texts = []
    for i, part in enumerate(content):
        if not isinstance(part, dict) or part.get("type") not in TEXT_PARTS:
            kind = part.get("type") if isinstance(part, dict) else type(part).__name__
            raise InvalidParam(
                f"content part of type {kind!r} is not supported: only input_text",
                f"{param}[{i}]",
            )
        text = part.get("text")
        if not isinstance(text, str):
            raise InvalidParam("a text part needs its text", f"{param}[{i}].text")
        texts.append(text)
    return "".join(texts)


def message(item: Any, param: str) -> PromptMessage:
    if not isinstance(item, dict) or item.get("type", "message") != "message":
        kind = item.get("type") if isinstance(item, dict) else type(item).__name__
        raise InvalidParam(f"input item of type {kind!r} is not supported: only messages", param)
    role = ROLES.get(item.get("role"))  # type: ignore[arg-type]
    if role is None:
        raise InvalidParam("role must be user, assistant, system or developer", f"{param}.role")
    return PromptMessage(role=role, content=_text(item.get("content"), f"{param}.content"))


def messages(items: str | Sequence[Any], param: str = "input") -> tuple[PromptMessage, ...]:
    """`input` (a string is one user message) or a conversation's `items`."""
    if isinstance(items, str):
        return (PromptMessage(role="user", content=items),)
    return tuple(message(item, f"{param}[{i}]") for i, item in enumerate(items))
