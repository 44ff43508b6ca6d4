"""The client store contract, held by the in-memory fake and by PostgreSQL alike."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from fastwrap.adapters.bundles import Storage
from fastwrap.domain.errors import Conflict, Invalid, NotFound
from fastwrap.domain.model import Character, Client, EmbeddedSnippet, SearchQuery
from fastwrap.domain.pagination import Cursor

T0 = datetime(2026, 1, 1, 12, 0, 0, 123456, tzinfo=UTC)
DIM = 4


@pytest.fixture
def pg_embedding_dim() -> int:
    return DIM


def new_client(**overrides: Any) -> Client:
    ident = uuid4()
    values: dict[str, Any] = {
        "id": ident,
        "email": f"{ident.hex[:10]}@example.com",
        "password_hash": "$2b$04$hash",
        "key_digest": uuid4().hex * 2,
        "created_at": T0,
        "updated_at": T0,
    }
    values.update(overrides)
    return Client(**values)


async def test_a_client_reads_back_by_id_email_and_digest(storage: Storage) -> None:
    client = new_client(email="ada@example.com", is_admin=True, is_active=False)
    await storage.clients.add(client)

    assert await storage.clients.get(client.id) == client
    assert await storage.clients.get_by_email("ada@example.com") == client
    assert await storage.clients.get_by_email("ADA@Example.com") == client
    assert await storage.clients.get_by_key_digest(client.key_digest) == client
    assert await storage.clients.get(uuid4()) is None
    assert await storage.clients.get_by_email("nobody@example.com") is None
    assert await storage.clients.get_by_key_digest("0" * 64) is None


async def test_a_live_email_is_taken_whatever_its_case(storage: Storage) -> None:
    await storage.clients.add(new_client(email="ada@example.com"))

    with pytest.raises(Conflict, match="email"):
        await storage.clients.add(new_client(email="Ada@Example.COM"))


async def test_a_key_digest_is_never_reused_even_after_deletion(storage: Storage) -> None:
    first = new_client()
    await storage.clients.add(first)
    with pytest.raises(Conflict, match="key"):
        await storage.clients.add(new_client(key_digest=first.key_digest))

    await storage.clients.delete(first.id, T0)
    with pytest.raises(Conflict, match="key"):
        await storage.clients.add(new_client(key_digest=first.key_digest))


async def test_the_same_id_twice_is_a_conflict(storage: Storage) -> None:
    client = new_client()
    await storage.clients.add(client)

    with pytest.raises(Conflict):
        await storage.clients.add(new_client(id=client.id))


async def test_a_deleted_client_is_gone_and_frees_its_email(storage: Storage) -> None:
    client = new_client(email="ada@example.com")
    await storage.clients.add(client)

    assert await storage.clients.delete(client.id, T0 + timedelta(seconds=1)) is True
    assert await storage.clients.get(client.id) is None
    assert await storage.clients.get_by_email("ada@example.com") is None
    assert await storage.clients.get_by_key_digest(client.key_digest) is None
    assert await storage.clients.list_page(None, 10) == []
    assert await storage.clients.delete(client.id, T0) is False
    assert await storage.clients.delete(uuid4(), T0) is False

    again = new_client(email="ada@example.com")
    await storage.clients.add(again)
    assert await storage.clients.get_by_email("ada@example.com") == again


async def test_an_update_replaces_fields_but_keeps_created_at(storage: Storage) -> None:
    client = new_client()
    await storage.clients.add(client)
    later = T0 + timedelta(minutes=5)
    changed = replace(
        client,
        email="new@example.com",
        password_hash="$2b$04$other",
        key_digest="f" * 64,
        is_admin=True,
        is_active=False,
        created_at=later,
        updated_at=later,
    )

    await storage.clients.update(changed)

    assert await storage.clients.get(client.id) == replace(changed, created_at=T0)
    assert await storage.clients.get_by_key_digest(client.key_digest) is None
    assert await storage.clients.get_by_key_digest("f" * 64) == replace(changed, created_at=T0)


async def test_an_update_to_a_taken_email_is_a_conflict(storage: Storage) -> None:
    ada, bob = new_client(email="ada@example.com"), new_client(email="bob@example.com")
    await storage.clients.add(ada)
    await storage.clients.add(bob)

    with pytest.raises(Conflict, match="email"):
        await storage.clients.update(replace(bob, email="ADA@example.com"))
    await storage.clients.update(replace(bob, email="BOB@example.com"))  # its own email is fine
    assert await storage.clients.get(bob.id) == replace(bob, email="BOB@example.com")


async def test_updating_a_deleted_or_unknown_client_is_not_found(storage: Storage) -> None:
    client = new_client()
    await storage.clients.add(client)
    await storage.clients.delete(client.id, T0)

    with pytest.raises(NotFound):
        await storage.clients.update(client)
    with pytest.raises(NotFound):
        await storage.clients.update(new_client())


async def test_only_the_first_admin_can_be_bootstrapped(storage: Storage) -> None:
    await storage.clients.add(new_client(is_admin=False))
    admin = new_client(is_admin=True)
    await storage.clients.add_first_admin(admin)

    with pytest.raises(Conflict, match="admin"):
        await storage.clients.add_first_admin(new_client(is_admin=True))

    await storage.clients.delete(admin.id, T0)
    await storage.clients.add_first_admin(new_client(is_admin=True))


async def test_concurrent_bootstraps_make_exactly_one_admin(storage: Storage) -> None:
    candidates = [new_client(is_admin=True) for _ in range(4)]

    results = await asyncio.gather(
        *(storage.clients.add_first_admin(c) for c in candidates), return_exceptions=True
    )

    assert sum(r is None for r in results) == 1
    assert all(isinstance(r, Conflict) for r in results if r is not None)
    assert len(await storage.clients.list_page(None, 10)) == 1


async def test_pages_follow_created_at_then_id_after_the_cursor(storage: Storage) -> None:
    same_time = [new_client(id=UUID(int=n), created_at=T0) for n in (3, 1, 2)]
    earlier = new_client(created_at=T0 - timedelta(days=1))
    later = new_client(created_at=T0 + timedelta(microseconds=1))
    for client in [*same_time, later, earlier]:
        await storage.clients.add(client)
    deleted = new_client(created_at=T0)
    await storage.clients.add(deleted)
    await storage.clients.delete(deleted.id, T0)
    expected = [earlier.id, UUID(int=1), UUID(int=2), UUID(int=3), later.id]

    first = await storage.clients.list_page(None, 3)
    last = first[-1]
    rest = await storage.clients.list_page(Cursor(last.created_at, last.id), 3)

    assert [c.id for c in first] + [c.id for c in rest] == expected
    assert await storage.clients.list_page(Cursor(later.created_at, later.id), 3) == []


async def test_deleting_a_client_soft_deletes_its_characters_and_snippets(
    storage: Storage,
) -> None:
    client, other = new_client(), new_client()
    await storage.clients.add(client)
    await storage.clients.add(other)
    for owner in (client, other):
        character = Character(
            id=uuid4(), client_id=owner.id, name=None, agent_role="r", created_at=T0, updated_at=T0
        )
        await storage.characters.add(character)
        snippet = EmbeddedSnippet(
            client_id=owner.id,
            entity_type="doc",
            entity_id="1",
            content="text",
            metadata={},
            embedding=(1.0,) * DIM,
            model="m",
        )
        await storage.vectors.upsert([snippet], T0)

    assert await storage.clients.delete(client.id, T0) is True

    def query(owner: Client) -> SearchQuery:
        return SearchQuery(client_id=owner.id, embedding=(1.0,) * DIM, model="m", top_k=5)

    assert await storage.characters.list_page(client.id, None, 10) == []
    assert await storage.vectors.search(query(client)) == []
    assert len(await storage.characters.list_page(other.id, None, 10)) == 1
    assert len(await storage.vectors.search(query(other))) == 1


async def test_a_nul_character_cannot_be_stored(storage: Storage) -> None:
    with pytest.raises(Invalid):
        await storage.clients.add(new_client(email="a\x00@example.com"))
    assert await storage.clients.list_page(None, 10) == []
