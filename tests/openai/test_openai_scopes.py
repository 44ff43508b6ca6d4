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


async def test_an_end_user_token_on_responses_sees_only_its_own_end_users(
    server: str, http: httpx.AsyncClient, alice: Tenant, pirate: str
) -> None:
    parrot = await make_character(http, alice, "You are a parrot.")
    token = await end_user_token(http, alice, pirate)
    async with sdk_for(server, alice.key) as tenant:
        # bob's conversation, started by the tenant on bob's behalf
        bobs = await tenant.responses.create(model=pirate, input="I am bob", user="bob")
    async with sdk_for(server, token) as client:
        mine = await client.responses.create(model=pirate, input="hi")
        follow = await client.responses.create(
            model=pirate, input="again", previous_response_id=mine.id
        )
        assert (await client.responses.retrieve(follow.id)).output_text == follow.output_text
        conversation = mine.conversation
        assert conversation is not None
        items = await client.conversations.items.list(conversation.id)
        assert len(items.data) == 4

        # Another end user's response and conversation do not exist for this token.
        with pytest.raises(openai.NotFoundError):
            await client.responses.retrieve(bobs.id)
        with pytest.raises(openai.NotFoundError):
            await client.responses.delete(bobs.id)
        assert bobs.conversation is not None
        with pytest.raises(openai.NotFoundError):
            await client.conversations.retrieve(bobs.conversation.id)
        with pytest.raises(openai.NotFoundError):
            await client.conversations.delete(bobs.conversation.id)
        # ... nor can it be continued, nor another character, end user, or a new empty one.
        with pytest.raises(openai.ConflictError):
            await client.responses.create(model=pirate, input="x", previous_response_id=bobs.id)
        with pytest.raises(openai.PermissionDeniedError):
            await client.responses.create(model=parrot, input="x")
        with pytest.raises(openai.PermissionDeniedError):
            await client.responses.create(model=pirate, input="x", user="bob")
        with pytest.raises(openai.PermissionDeniedError):
            await client.conversations.create()

    stored = await http.get(f"/api/conversations/{conversation.id}", headers=alice.headers)
    assert stored.json()["data"]["end_user"] == "player-1"
    untouched = await http.get(f"/api/conversations/{bobs.conversation.id}", headers=alice.headers)
    kept = untouched.json()["data"]["messages"]
    assert [(m["role"], m["content"]) for m in kept][:1] == [("user", "I am bob")]
    assert len(kept) == 2


async def test_a_token_bound_to_a_conversation_responds_only_there(
    server: str, http: httpx.AsyncClient, alice: Tenant, pirate: str
) -> None:
    token = await end_user_token(http, alice, pirate, conversation_id="player-1-resp")
    async with sdk_for(server, token) as client:
        first = await client.responses.create(model=pirate, input="hi")
        assert first.conversation is not None
        assert first.conversation.id == "player-1-resp"
        await client.responses.create(model=pirate, input="more", previous_response_id=first.id)
        with pytest.raises(openai.PermissionDeniedError):
            await client.responses.create(model=pirate, input="x", conversation="elsewhere")
        with pytest.raises(openai.NotFoundError):
            await client.conversations.items.list("elsewhere")
