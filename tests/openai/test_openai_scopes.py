"""Scopes and end-user tokens (SPEC §13) on `/v1`: turns need `chat`, the models `read` or
`chat`; an end-user token chats only with its character, as its end user."""

from __future__ import annotations

from typing import Any

import httpx
import openai
import pytest

from tests.openai.conftest import sdk_for
from tests.support.app import Tenant, make_character

ASK: Any = [{"role": "user", "content": "hi"}]


async def named_key(http: httpx.AsyncClient, tenant: Tenant, *scopes: str) -> str:
    made = await http.post(
        "/clients/me/keys",
        json={"name": "-".join(scopes), "scopes": list(scopes)},
        headers=tenant.headers,
    )
    assert made.status_code == 201, made.text
    return str(made.json()["data"]["api_key"])


async def end_user_token(
    http: httpx.AsyncClient, tenant: Tenant, character: str, **extra: Any
) -> str:
    made = await http.post(
        "/api/end-user-tokens",
        json={"character_id": character, "end_user": "player-1", **extra},
        headers=tenant.headers,
    )
    assert made.status_code == 201, made.text
    return str(made.json()["data"]["token"])


@pytest.mark.parametrize(
    ("scopes", "models", "turns"),
    [(("chat",), True, True), (("read",), True, False), (("write", "account"), False, False)],
)
async def test_what_each_scope_may_do(
    server: str,
    http: httpx.AsyncClient,
    alice: Tenant,
    pirate: str,
    scopes: tuple[str, ...],
    models: bool,
    turns: bool,
) -> None:
    async with sdk_for(server, await named_key(http, alice, *scopes)) as client:
        if models:
            assert [m.id async for m in await client.models.list()] == [pirate]
        else:
            with pytest.raises(openai.PermissionDeniedError) as raised:
                await client.models.list()
            assert raised.value.code == "insufficient_scope"
        if turns:
            reply = await client.chat.completions.create(model=pirate, messages=ASK)
            assert reply.choices[0].message.content == "stub reply to: hi"
        else:
            with pytest.raises(openai.PermissionDeniedError) as raised:
                await client.chat.completions.create(model=pirate, messages=ASK)
            assert raised.value.code == "insufficient_scope"


async def test_an_end_user_token_chats_as_its_end_user_with_its_character_only(
    server: str, http: httpx.AsyncClient, alice: Tenant, pirate: str
) -> None:
    parrot = await make_character(http, alice, "You are a parrot.")
    token = await end_user_token(http, alice, pirate, conversation_id="player-1-chat")
    async with sdk_for(server, token) as client:
        reply = await client.chat.completions.create(model=pirate, messages=ASK)
        with pytest.raises(openai.PermissionDeniedError):
            await client.chat.completions.create(model=parrot, messages=ASK)
        with pytest.raises(openai.PermissionDeniedError):
            await client.chat.completions.create(model=pirate, messages=ASK, user="someone-else")
        with pytest.raises(openai.PermissionDeniedError):
            await client.models.list()
    # Bound to a conversation, the token's turn is stored there, for its end user.
    assert (reply.model_extra or {})["fastwrap"]["conversation_id"] == "player-1-chat"
    stored = await http.get("/api/conversations/player-1-chat", headers=alice.headers)
    assert stored.json()["data"]["end_user"] == "player-1"


async def test_an_unbound_token_chats_statelessly_as_its_end_user(
    server: str, http: httpx.AsyncClient, alice: Tenant, pirate: str
) -> None:
    token = await end_user_token(http, alice, pirate)
    async with sdk_for(server, token) as client:
        reply = await client.chat.completions.create(model=pirate, messages=ASK)
        stored = await client.chat.completions.create(
            model=pirate, messages=ASK, extra_body={"conversation": "tok-c"}
        )
    assert (reply.model_extra or {})["fastwrap"]["conversation_id"] is None
    assert (stored.model_extra or {})["fastwrap"]["conversation_id"] == "tok-c"
    # The tenant's own key continues it; the token's end user owns it.
    kept = await http.get("/api/conversations/tok-c", headers=alice.headers)
    assert kept.json()["data"]["end_user"] == "player-1"
