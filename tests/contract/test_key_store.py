"""The key and end-user token store contracts, held by the in-memory fake, by PostgreSQL and by
PostgreSQL behind the lookup caches alike."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from fastwrap.adapters.bundles import Storage
from fastwrap.domain.errors import Conflict, NotFound
from fastwrap.domain.keys import ApiKey, EndUserToken
from fastwrap.domain.model import Character
from fastwrap.domain.updates import ClientUpdate
from tests.contract.seeds import add_client

T0 = datetime(2026, 1, 1, 12, 0, 0, 123456, tzinfo=UTC)
DIM = 4


@pytest.fixture
def pg_embedding_dim() -> int:
    return DIM


def new_key(client_id: UUID, **overrides: Any) -> ApiKey:
    values: dict[str, Any] = {
        "id": uuid4(),
        "client_id": client_id,
        "name": "backend",
        "prefix": "fw_abcde",
        "digest": uuid4().hex * 2,
        "scopes": frozenset({"chat", "read"}),
        "created_at": T0,
    }
    values.update(overrides)
    return ApiKey(**values)


async def add_character(storage: Storage, client_id: UUID) -> UUID:
    ident = uuid4()
    character = Character(
        id=ident,
        client_id=client_id,
        name=None,
        agent_role="You are a pirate.",
        created_at=T0,
        updated_at=T0,
    )
    await storage.characters.add(character)
    return ident


def new_token(client_id: UUID, character_id: UUID, **overrides: Any) -> EndUserToken:
    values: dict[str, Any] = {
        "id": uuid4(),
        "client_id": client_id,
        "digest": uuid4().hex * 2,
        "character_id": character_id,
        "end_user": "alice",
        "conversation_id": None,
        "created_at": T0,
        "expires_at": T0 + timedelta(minutes=15),
    }
    values.update(overrides)
    return EndUserToken(**values)


async def test_a_named_key_is_found_by_digest_with_its_client(storage: Storage) -> None:
    client_id = await add_client(storage, T0)
    key = new_key(client_id, expires_at=T0 + timedelta(days=1))
    await storage.keys.add(key)

    grant = await storage.keys.find(key.digest)

    assert grant is not None
    assert grant.client.id == client_id
    assert grant.key == key
    assert await storage.keys.find("0" * 64) is None


async def test_the_primary_key_is_found_as_no_named_key(storage: Storage) -> None:
    client_id = await add_client(storage, T0)
    client = await storage.clients.get(client_id)
    assert client is not None

    grant = await storage.keys.find(client.key_digest)

    assert grant is not None
    assert grant.client == client
    assert grant.key is None


async def test_keys_list_oldest_first_per_tenant_and_without_revoked(storage: Storage) -> None:
    one, other = await add_client(storage, T0), await add_client(storage, T0)
    first = new_key(one, name="first")
    second = new_key(one, name="second", created_at=T0 + timedelta(seconds=1))
    revoked = new_key(one, name="revoked")
    for key in (second, first, revoked, new_key(other)):
        await storage.keys.add(key)
    assert await storage.keys.revoke(one, revoked.id, T0)

    assert [k.name for k in await storage.keys.list(one)] == ["first", "second"]


async def test_a_revoked_key_is_not_found_and_revokes_once(storage: Storage) -> None:
    client_id = await add_client(storage, T0)
    key = new_key(client_id)
    await storage.keys.add(key)
    assert await storage.keys.find(key.digest) is not None  # cached, where there is a cache

    assert await storage.keys.revoke(client_id, key.id, T0)

    assert await storage.keys.find(key.digest) is None
    assert not await storage.keys.revoke(client_id, key.id, T0)
    assert not await storage.keys.revoke(client_id, uuid4(), T0)


async def test_another_tenant_cannot_revoke_a_key(storage: Storage) -> None:
    owner, other = await add_client(storage, T0), await add_client(storage, T0)
    key = new_key(owner)
    await storage.keys.add(key)

    assert not await storage.keys.revoke(other, key.id, T0)
    assert await storage.keys.find(key.digest) is not None


async def test_a_digest_is_unique_and_a_key_needs_its_client(storage: Storage) -> None:
    client_id = await add_client(storage, T0)
    key = new_key(client_id)
    await storage.keys.add(key)

    with pytest.raises(Conflict):
        await storage.keys.add(new_key(client_id, digest=key.digest))
    with pytest.raises(NotFound):
        await storage.keys.add(new_key(uuid4()))


async def test_deleting_the_tenant_kills_its_keys_and_tokens(storage: Storage) -> None:
    client_id = await add_client(storage, T0)
    character_id = await add_character(storage, client_id)
    key = new_key(client_id)
    await storage.keys.add(key)
    token = new_token(client_id, character_id, key_id=key.id)
    await storage.tokens.add(token)
    assert await storage.keys.find(key.digest) is not None
    assert await storage.tokens.find(token.digest) is not None

    assert await storage.clients.delete(client_id, T0)

    assert await storage.keys.find(key.digest) is None
    assert await storage.keys.list(client_id) == []
    assert await storage.tokens.find(token.digest) is None


async def test_touch_moves_last_used_forward_by_a_minute_at_least(storage: Storage) -> None:
    client_id = await add_client(storage, T0)
    key = new_key(client_id)
    await storage.keys.add(key)

    async def last_used() -> datetime | None:
        [listed] = await storage.keys.list(client_id)
        return listed.last_used_at

    await storage.keys.touch({key.id: T0})
    assert await last_used() == T0
    await storage.keys.touch({key.id: T0 + timedelta(seconds=30)})  # under a minute: kept
    assert await last_used() == T0
    await storage.keys.touch({key.id: T0 - timedelta(minutes=5)})  # backwards: kept
    assert await last_used() == T0
    await storage.keys.touch({key.id: T0 + timedelta(minutes=2), uuid4(): T0})
    assert await last_used() == T0 + timedelta(minutes=2)


async def test_a_token_is_found_while_its_character_and_named_key_live(storage: Storage) -> None:
    client_id = await add_client(storage, T0)
    character_id = await add_character(storage, client_id)
    key = new_key(client_id)
    await storage.keys.add(key)
    token = new_token(client_id, character_id, key_id=key.id, conversation_id="c-1")
    await storage.tokens.add(token)

    grant = await storage.tokens.find(token.digest)
    assert grant is not None
    assert grant.token == token
    assert grant.client.id == client_id

    assert await storage.keys.revoke(client_id, key.id, T0)
    assert await storage.tokens.find(token.digest) is None


async def test_a_token_dies_with_its_character(storage: Storage) -> None:
    client_id = await add_client(storage, T0)
    character_id = await add_character(storage, client_id)
    client = await storage.clients.get(client_id)
    assert client is not None
    token = new_token(client_id, character_id, issuer_digest=client.key_digest)
    await storage.tokens.add(token)
    assert await storage.tokens.find(token.digest) is not None

    assert await storage.characters.delete(client_id, character_id, T0)

    assert await storage.tokens.find(token.digest) is None


async def test_a_token_of_the_primary_key_dies_when_that_key_rotates(storage: Storage) -> None:
    client_id = await add_client(storage, T0)
    character_id = await add_character(storage, client_id)
    client = await storage.clients.get(client_id)
    assert client is not None
    token = new_token(client_id, character_id, issuer_digest=client.key_digest)
    await storage.tokens.add(token)
    assert await storage.tokens.find(token.digest) is not None

    rotated = ClientUpdate(updated_at=T0, key_digest=uuid4().hex * 2)
    assert await storage.clients.update(client_id, rotated) is not None

    assert await storage.tokens.find(token.digest) is None


async def test_a_token_needs_its_client(storage: Storage) -> None:
    client_id = await add_client(storage, T0)
    character_id = await add_character(storage, client_id)
    token = new_token(client_id, character_id, issuer_digest="x" * 64)
    with pytest.raises(NotFound):
        await storage.tokens.add(replace(token, client_id=uuid4()))
