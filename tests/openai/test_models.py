"""`/v1/models`: a tenant's characters as models, read with OpenAI's SDK."""

from __future__ import annotations

import httpx
import openai
import pytest
from openai import AsyncOpenAI

from tests.openai.conftest import sdk_for
from tests.support.app import Tenant, make_character


async def test_models_list_the_tenants_characters(
    sdk: AsyncOpenAI, http: httpx.AsyncClient, alice: Tenant, bob: Tenant, pirate: str
) -> None:
    unnamed = await make_character(http, alice, "You are terse.")
    await make_character(http, bob, "You are Bob's.", name="Pirate")

    page = await sdk.models.list()
    models = [m async for m in page]

    assert [m.id for m in models] == [pirate, unnamed]
    first = models[0]
    assert (first.object, first.owned_by) == ("model", "fastwrap")
    assert first.model_extra == {"name": "Pirate"}
    assert first.created > 1_700_000_000


async def test_a_model_is_found_by_id_or_by_its_unique_name(sdk: AsyncOpenAI, pirate: str) -> None:
    assert (await sdk.models.retrieve(pirate)).id == pirate
    assert (await sdk.models.retrieve("Pirate")).id == pirate


async def test_a_name_two_characters_share_is_ambiguous(
    sdk: AsyncOpenAI, http: httpx.AsyncClient, alice: Tenant, pirate: str
) -> None:
    twin = await make_character(http, alice, "You are another pirate.", name="Pirate")

    with pytest.raises(openai.BadRequestError) as raised:
        await sdk.models.retrieve("Pirate")

    assert raised.value.code == "model_ambiguous"
    assert (await sdk.models.retrieve(twin)).id == twin  # the id still finds each


async def test_unknown_and_other_tenants_models_are_not_found(
    server: str, sdk: AsyncOpenAI, bob: Tenant, pirate: str
) -> None:
    for model in ("Nobody", "00000000-0000-0000-0000-000000000000"):
        with pytest.raises(openai.NotFoundError) as raised:
            await sdk.models.retrieve(model)
        assert raised.value.code == "model_not_found"
    async with sdk_for(server, bob.key) as bobs:
        with pytest.raises(openai.NotFoundError):
            await bobs.models.retrieve(pirate)
        assert [m async for m in await bobs.models.list()] == []


async def test_a_deleted_character_is_no_longer_a_model(
    sdk: AsyncOpenAI, http: httpx.AsyncClient, alice: Tenant, pirate: str
) -> None:
    deleted = await http.delete(f"/api/characters/{pirate}", headers=alice.headers)
    assert deleted.status_code == 204

    with pytest.raises(openai.NotFoundError):
        await sdk.models.retrieve("Pirate")
    assert [m async for m in await sdk.models.list()] == []


async def test_a_bad_key_is_an_authentication_error(server: str) -> None:
    async with sdk_for(server, "fw_not-a-real-key") as stranger:
        with pytest.raises(openai.AuthenticationError) as raised:
            await stranger.models.list()
    assert raised.value.code == "invalid_api_key"
    body = raised.value.body
    assert isinstance(body, dict)
    assert set(body) == {"message", "type", "param", "code"}


async def test_a_name_with_a_slash_is_a_model_too(
    sdk: AsyncOpenAI, http: httpx.AsyncClient, alice: Tenant
) -> None:
    slashed = await make_character(http, alice, "You are a router.", name="team/router v2")
    assert (await sdk.models.retrieve("team/router v2")).id == slashed
    reply = await sdk.chat.completions.create(
        model="team/router v2", messages=[{"role": "user", "content": "hi"}]
    )
    assert reply.model == slashed
