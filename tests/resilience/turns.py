"""Many concurrent chat turns on one conversation, and the check that none was lost or mixed.

The offline model's reply ends with "you said: <the user's message>", so each stored reply can
be matched to the message it answers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import httpx

from tests.support.app import Tenant

CONVERSATION = "crowded"


def echo_of(content: str) -> str:
    return f"you said: {content}"


async def concurrent_turns(
    apps: Sequence[httpx.AsyncClient], tenant: Tenant, character_id: str, count: int = 50
) -> list[str]:
    """`count` turns sent at once, spread round-robin over `apps`; returns the messages sent."""
    contents = [f"turn-{n:03d}" for n in range(count)]
    responses = await asyncio.gather(
        *(
            apps[n % len(apps)].post(
                "/api/chat",
                json={"character_id": character_id, "content": content,
                      "conversation_id": CONVERSATION},
                headers=tenant.headers,
                timeout=60,
            )
            for n, content in enumerate(contents)
        )
    )  # fmt: skip
    for content, response in zip(contents, responses, strict=True):
        assert response.status_code == 201, response.text
        assert response.json()["data"]["reply"]["content"].endswith(echo_of(content))
    return contents


async def stored_messages(api: httpx.AsyncClient, tenant: Tenant) -> list[dict[str, Any]]:
    response = await api.get(f"/api/conversations/{CONVERSATION}", headers=tenant.headers)
    assert response.status_code == 200, response.text
    messages: list[dict[str, Any]] = response.json()["data"]["messages"]
    return messages


def assert_each_turn_whole(messages: Sequence[dict[str, Any]], sent: Sequence[str]) -> None:
    """Every message sent is stored once, each directly followed by its own reply."""
    assert len(messages) == 2 * len(sent)
    asked, answered = messages[0::2], messages[1::2]
    assert {m["role"] for m in asked} == {"user"}
    assert {m["role"] for m in answered} == {"assistant"}
    assert sorted(m["content"] for m in asked) == sorted(sent)
    for question, reply in zip(asked, answered, strict=True):
        assert reply["content"].endswith(echo_of(question["content"])), (question, reply)
