"""The character store contract, held by the in-memory fake and by PostgreSQL alike."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from fastwrap.adapters.bundles import Storage
from fastwrap.domain.errors import Conflict, Invalid, NotFound
from fastwrap.domain.model import Character, Knowledge
from fastwrap.domain.pagination import Cursor
from fastwrap.domain.updates import CharacterPatch
from tests.contract import seeds

T0 = datetime(2026, 1, 1, 12, 0, 0, 654321, tzinfo=UTC)


async def add_client(storage: Storage) -> UUID:
    return await seeds.add_client(storage, T0)


def new_character(client_id: UUID, **overrides: Any) -> Character:
    values: dict[str, Any] = {
        "id": uuid4(),
        "client_id": client_id,
        "name": "Captain",
        "agent_role": "You are a pirate.",
        "created_at": T0,
        "updated_at": T0,
    }
    values.update(overrides)
    return Character(**values)


async def test_a_character_reads_back_with_every_field(storage: Storage) -> None:
    owner = await add_client(storage)
    knowledge = Knowledge(entity_types=("faq", "docs"), top_k=7, min_score=0.25)
    full = new_character(owner, ttl=3600, knowledge=knowledge)
    bare = new_character(owner, name=None)
    await storage.characters.add(full)
    await storage.characters.add(bare)

    assert await storage.characters.get(owner, full.id) == full
    assert await storage.characters.get(owner, bare.id) == bare
    assert await storage.characters.get(owner, uuid4()) is None


async def test_another_tenants_character_is_invisible(storage: Storage) -> None:
    owner, stranger = await add_client(storage), await add_client(storage)
    character = new_character(owner)
    await storage.characters.add(character)

    assert await storage.characters.get(stranger, character.id) is None
    assert await storage.characters.list_page(stranger, None, 10) == []
    hijack = CharacterPatch(name="Hijacked")
    assert await storage.characters.update(stranger, character.id, hijack, T0) is None
    assert await storage.characters.delete(stranger, character.id, T0) is False
    assert await storage.characters.get(owner, character.id) == character


async def test_a_character_needs_an_existing_client(storage: Storage) -> None:
    with pytest.raises(NotFound):
        await storage.characters.add(new_character(uuid4()))


async def test_the_same_id_twice_is_a_conflict(storage: Storage) -> None:
    owner = await add_client(storage)
    character = new_character(owner)
    await storage.characters.add(character)

    with pytest.raises(Conflict):
        await storage.characters.add(new_character(owner, id=character.id))


async def test_an_update_sets_the_fields_it_names_and_nothing_else(storage: Storage) -> None:
    owner = await add_client(storage)
    character = new_character(owner, ttl=60, knowledge=Knowledge(entity_types=("faq",)))
    await storage.characters.add(character)
    later = T0 + timedelta(hours=1)

    renamed = await storage.characters.update(
        owner, character.id, CharacterPatch(name="Sailor"), later
    )
    assert renamed == replace(character, name="Sailor", updated_at=later)

    cleared = CharacterPatch(name=None, agent_role="You are a librarian.", ttl=None, knowledge=None)
    expected = replace(
        character, name=None, agent_role="You are a librarian.", ttl=None, knowledge=None,
        updated_at=later,
    )  # fmt: skip
    assert await storage.characters.update(owner, character.id, cleared, later) == expected
    assert await storage.characters.get(owner, character.id) == expected


async def test_concurrent_patches_of_different_fields_all_take_effect(storage: Storage) -> None:
    """Two PATCHes at once, one `name`, one `agent_role` (and more): both kept (issue 14)."""
    owner = await add_client(storage)
    for _ in range(5):
        character = new_character(owner)
        await storage.characters.add(character)
        patches = [
            CharacterPatch(name="Renamed"),
            CharacterPatch(agent_role="You are a librarian."),
            CharacterPatch(ttl=90),
            CharacterPatch(knowledge=Knowledge(entity_types=("faq",), top_k=2)),
        ]

        await asyncio.gather(
            *(storage.characters.update(owner, character.id, p, T0) for p in patches)
        )

        assert await storage.characters.get(owner, character.id) == replace(
            character,
            name="Renamed",
            agent_role="You are a librarian.",
            ttl=90,
            knowledge=Knowledge(entity_types=("faq",), top_k=2),
        )


async def test_a_deleted_character_is_gone_for_good(storage: Storage) -> None:
    owner = await add_client(storage)
    character = new_character(owner)
    await storage.characters.add(character)

    assert await storage.characters.delete(owner, character.id, T0) is True
    assert await storage.characters.get(owner, character.id) is None
    assert await storage.characters.list_page(owner, None, 10) == []
    assert await storage.characters.delete(owner, character.id, T0) is False
    assert await storage.characters.update(owner, character.id, CharacterPatch(), T0) is None


async def test_pages_follow_created_at_then_id_within_the_tenant(storage: Storage) -> None:
    owner, other = await add_client(storage), await add_client(storage)
    tied = [new_character(owner, id=UUID(int=n)) for n in (9, 7, 8)]
    first_made = new_character(owner, created_at=T0 - timedelta(seconds=1))
    last_made = new_character(owner, created_at=T0 + timedelta(seconds=1))
    gone = new_character(owner)
    for character in [last_made, *tied, first_made, gone, new_character(other)]:
        await storage.characters.add(character)
    await storage.characters.delete(owner, gone.id, T0)
    expected = [first_made.id, UUID(int=7), UUID(int=8), UUID(int=9), last_made.id]

    page = await storage.characters.list_page(owner, None, 2)
    seen = [c.id for c in page]
    while page:
        last = page[-1]
        page = await storage.characters.list_page(owner, Cursor(last.created_at, last.id), 2)
        seen += [c.id for c in page]

    assert seen == expected


async def test_a_nul_character_cannot_be_stored(storage: Storage) -> None:
    owner = await add_client(storage)
    character = new_character(owner)
    await storage.characters.add(character)

    with pytest.raises(Invalid):
        await storage.characters.add(new_character(owner, agent_role="nul \x00 inside"))
    with pytest.raises(Invalid):
        await storage.characters.update(owner, character.id, CharacterPatch(name="a\x00"), T0)
    assert await storage.characters.list_page(owner, None, 10) == [character]


async def test_named_finds_live_characters_of_that_exact_name_in_the_tenant(
    storage: Storage,
) -> None:
    owner, other = await add_client(storage), await add_client(storage)
    older = new_character(owner, name="Ada", created_at=T0 - timedelta(seconds=1))
    newer = new_character(owner, name="Ada")
    gone = new_character(owner, name="Ada")
    others = [new_character(owner, name=n) for n in ("ada", "Ada ")]
    for character in [newer, older, gone, *others, new_character(other, name="Ada")]:
        await storage.characters.add(character)
    await storage.characters.delete(owner, gone.id, T0)

    assert await storage.characters.named(owner, "Ada", 5) == [older, newer]
    assert await storage.characters.named(owner, "Ada", 1) == [older]
    assert await storage.characters.named(owner, "Nobody", 5) == []
    renamed = await storage.characters.update(owner, older.id, CharacterPatch(name="Bo"), T0)
    assert await storage.characters.named(owner, "Bo", 5) == [renamed]
