"""The client store contract, held by the in-memory fake and by PostgreSQL alike."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from fastwrap.adapters.bundles import Storage
from fastwrap.domain.errors import Conflict, Invalid
from fastwrap.domain.model import Character, Client, EmbeddedSnippet, SearchQuery
from fastwrap.domain.pagination import Cursor
from fastwrap.domain.updates import ClientCondition, ClientUpdate

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
    client = new_client(
        email="Ada.Lovelace@example.com",
        is_admin=True,
        is_active=False,
        subscription="pro",
        store_name="Analytical Engines",
        phone="+44 20 7946 0000",
    )
    await storage.clients.add(client)

    assert await storage.clients.get(client.id) == client
    assert await storage.clients.get(client.id, include_deleted=True) == client
    assert await storage.clients.get_by_email("ada.lovelace@example.com") == client
    assert await storage.clients.get_by_email("ADA.LOVELACE@Example.com") == client
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
    deleted = replace(client, deleted_at=T0 + timedelta(seconds=1))
    assert await storage.clients.get(client.id, include_deleted=True) == deleted
    assert await storage.clients.list_page(None, 10, include_deleted=True) == [deleted]
    assert await storage.clients.get_by_email("ada@example.com") is None
    assert await storage.clients.get_by_key_digest(client.key_digest) is None
    assert await storage.clients.list_page(None, 10) == []
    assert await storage.clients.delete(client.id, T0) is False
    assert await storage.clients.delete(uuid4(), T0) is False

    again = new_client(email="ada@example.com")
    await storage.clients.add(again)
    assert await storage.clients.get_by_email("ada@example.com") == again


async def test_an_update_sets_the_fields_it_names_and_nothing_else(storage: Storage) -> None:
    client = new_client(subscription="free", phone="+1 555 0100")
    await storage.clients.add(client)
    later = T0 + timedelta(minutes=5)

    updated = await storage.clients.update(
        client.id, ClientUpdate(key_digest="f" * 64, subscription=None, updated_at=later)
    )

    expected = replace(client, key_digest="f" * 64, subscription=None, updated_at=later)
    assert updated == expected
    assert await storage.clients.get(client.id) == expected
    assert await storage.clients.get_by_key_digest(client.key_digest) is None
    assert await storage.clients.get_by_key_digest("f" * 64) == expected

    everything = ClientUpdate(
        email="New@example.com",
        password_hash="$2b$04$other",
        key_digest="e" * 64,
        is_admin=True,
        is_active=False,
        subscription="pro",
        store_name="Ada's",
        phone="123",
        updated_at=later,
    )
    assert await storage.clients.update(client.id, everything) == replace(
        client,
        email="New@example.com",
        password_hash="$2b$04$other",
        key_digest="e" * 64,
        is_admin=True,
        is_active=False,
        subscription="pro",
        store_name="Ada's",
        phone="123",
        updated_at=later,
    )


async def test_an_update_to_a_taken_email_is_a_conflict(storage: Storage) -> None:
    ada, bob = new_client(email="ada@example.com"), new_client(email="bob@example.com")
    await storage.clients.add(ada)
    await storage.clients.add(bob)

    with pytest.raises(Conflict, match="email"):
        await storage.clients.update(bob.id, ClientUpdate(email="ADA@example.com", updated_at=T0))
    assert await storage.clients.get(bob.id) == bob
    # Its own email in another case is fine, and is stored as given.
    await storage.clients.update(bob.id, ClientUpdate(email="BOB@example.com", updated_at=T0))
    assert await storage.clients.get(bob.id) == replace(bob, email="BOB@example.com")


async def test_updating_a_deleted_or_unknown_client_changes_nothing(storage: Storage) -> None:
    client = new_client()
    await storage.clients.add(client)
    await storage.clients.delete(client.id, T0)
    change = ClientUpdate(is_active=False, updated_at=T0)

    assert await storage.clients.update(client.id, change) is None
    assert await storage.clients.update(uuid4(), change) is None
    assert await storage.clients.get(client.id, include_deleted=True) == replace(
        client, deleted_at=T0
    )


async def test_a_conditional_update_applies_only_to_the_row_it_expects(storage: Storage) -> None:
    client = new_client()
    await storage.clients.add(client)
    rotate = ClientUpdate(key_digest="a" * 64, updated_at=T0)

    for stale in (
        ClientCondition(key_digest="0" * 64),
        ClientCondition(password_hash="$2b$04$stale"),
        ClientCondition(is_active=False),
        ClientCondition(key_digest=client.key_digest, password_hash="$2b$04$stale"),
    ):
        assert await storage.clients.update(client.id, rotate, stale) is None
    assert await storage.clients.get(client.id) == client

    current = ClientCondition(
        key_digest=client.key_digest, password_hash=client.password_hash, is_active=True
    )
    assert await storage.clients.update(client.id, rotate, current) == replace(
        client, key_digest="a" * 64
    )


async def test_concurrent_writes_of_different_fields_all_take_effect(storage: Storage) -> None:
    """A login, a password change, an admin's deactivation and profile edits at once: each
    names its own fields, so none undoes another (the lost updates of issue 14)."""
    for _ in range(5):
        client = new_client()
        await storage.clients.add(client)
        changes = [
            ClientUpdate(key_digest=uuid4().hex * 2, updated_at=T0),
            ClientUpdate(password_hash="$2b$04$changed", updated_at=T0),
            ClientUpdate(is_active=False, updated_at=T0),
            ClientUpdate(is_admin=True, updated_at=T0),
            ClientUpdate(email=f"moved-{client.id.hex[:8]}@example.com", updated_at=T0),
            ClientUpdate(subscription="pro", updated_at=T0),
            ClientUpdate(store_name="Shop", updated_at=T0),
            ClientUpdate(phone="555", updated_at=T0),
        ]

        await asyncio.gather(*(storage.clients.update(client.id, c) for c in changes))

        found = await storage.clients.get(client.id)
        assert found is not None
        assert found.key_digest == changes[0].key_digest
        assert (found.password_hash, found.is_active, found.is_admin) == (
            "$2b$04$changed", False, True,
        )  # fmt: skip
        assert found.email == changes[4].email
        assert (found.subscription, found.store_name, found.phone) == ("pro", "Shop", "555")


async def test_of_concurrent_rotations_from_one_key_exactly_one_wins(storage: Storage) -> None:
    client = new_client()
    await storage.clients.add(client)
    new_digests = [uuid4().hex * 2 for _ in range(12)]
    same_key = ClientCondition(key_digest=client.key_digest)

    results = await asyncio.gather(
        *(
            storage.clients.update(client.id, ClientUpdate(key_digest=d, updated_at=T0), same_key)
            for d in new_digests
        )
    )

    winners = [r for r in results if r is not None]
    assert len(winners) == 1
    assert await storage.clients.get_by_key_digest(winners[0].key_digest) == winners[0]
    for digest in {client.key_digest, *new_digests} - {winners[0].key_digest}:
        assert await storage.clients.get_by_key_digest(digest) is None


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

    # An admin's view, deleted clients included, in the same order.
    with_deleted = sorted([*expected[1:4], deleted.id])
    after_earlier = Cursor(earlier.created_at, earlier.id)
    page = await storage.clients.list_page(after_earlier, 4, include_deleted=True)
    assert [c.id for c in page] == with_deleted
    assert [c.deleted_at for c in page if c.id == deleted.id] == [T0]


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
