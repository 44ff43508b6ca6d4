"""MemoryStore contract (SPEC §15): the same in memory and in PostgreSQL (memory_items)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest

from fastwrap.adapters.bundles import Storage
from fastwrap.domain.memory_items import MemoryItem, MemoryQuery
from fastwrap.domain.model import Character
from fastwrap.domain.pagination import Cursor
from fastwrap.ports.memory import MAX_ATTEMPTS, MemoryStore
from tests.contract.seeds import add_client

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
DIM = 256  # the PostgreSQL fixtures' EMBEDDING_DIM
MODEL = "hashing-256"
LEASE = timedelta(seconds=60)


def axis(n: int, m: int | None = None) -> tuple[float, ...]:
    """A unit vector on axis n (or halfway between axes n and m)."""
    vector = [0.0] * DIM
    vector[n] = 1.0
    if m is not None:
        vector[m] = 1.0
    return tuple(vector)


def item(
    client_id: UUID,
    character_id: UUID,
    *,
    end_user: str | None = "alice",
    conversation_id: str = "c1",
    seq: int = 1,
    content: str = "User: hi\nAssistant: ahoy",
    at: datetime = T0,
) -> MemoryItem:
    return MemoryItem(
        id=uuid4(), client_id=client_id, character_id=character_id, end_user=end_user,
        conversation_id=conversation_id, seq=seq, content=content, created_at=at,
    )  # fmt: skip


def query(
    like: MemoryItem, vector: tuple[float, ...], *, limit: int = 10, **changes: object
) -> MemoryQuery:
    values: dict[str, object] = {
        "client_id": like.client_id,
        "character_id": like.character_id,
        "end_user": like.end_user,
        "conversation_id": None,
        "embedding": vector,
        "model": MODEL,
        "limit": limit,
        **changes,
    }
    return MemoryQuery(**values)  # type: ignore[arg-type]


async def embed_all(store: MemoryStore, vectors: dict[UUID, tuple[float, ...]]) -> None:
    claimed = await store.claim(T0, T0 + LEASE, 1000)
    assert {i.id for i in claimed} >= set(vectors)
    await store.embedded([(i, v) for i, v in vectors.items()], MODEL)


async def character(storage: Storage, client_id: UUID) -> UUID:
    ident = uuid4()
    await storage.characters.add(
        Character(
            id=ident,
            client_id=client_id,
            name=None,
            agent_role="You remember.",
            created_at=T0,
            updated_at=T0,
        )
    )
    return ident


@pytest.fixture
async def tenant(storage: Storage) -> tuple[UUID, UUID]:
    client_id = await add_client(storage, T0)
    return client_id, await character(storage, client_id)


async def test_an_item_is_recalled_only_once_embedded(
    storage: Storage, tenant: tuple[UUID, UUID]
) -> None:
    store = storage.memory
    first = item(*tenant)
    await store.add([first])

    assert await store.recall(query(first, axis(0))) == []
    [listed] = await store.list(first.client_id, "alice", None, 10)
    assert listed.id == first.id
    assert not listed.embedded

    await embed_all(store, {first.id: axis(0)})
    [hit] = await store.recall(query(first, axis(0)))
    assert hit.item.id == first.id
    assert hit.item.embedded
    assert hit.score == pytest.approx(1.0)
    [listed] = await store.list(first.client_id, "alice", None, 10)
    assert listed.embedded


async def test_recall_is_nearest_first_within_the_limit(
    storage: Storage, tenant: tuple[UUID, UUID]
) -> None:
    store = storage.memory
    near, middle, far = (item(*tenant, seq=n) for n in (1, 3, 5))
    await store.add([far, near, middle])
    await embed_all(store, {near.id: axis(0), middle.id: axis(0, 1), far.id: axis(1)})

    hits = await store.recall(query(near, axis(0), limit=2))

    assert [h.item.id for h in hits] == [near.id, middle.id]
    assert hits[0].score > hits[1].score
    assert hits[1].score == pytest.approx(2**-0.5)


async def test_recall_never_crosses_tenants_characters_end_users_or_models(
    storage: Storage, tenant: tuple[UUID, UUID]
) -> None:
    store = storage.memory
    client_id, character_id = tenant
    other_client = await add_client(storage, T0)
    other_character = await character(storage, client_id)
    mine = item(client_id, character_id)
    others = [
        item(other_client, await character(storage, other_client)),
        item(client_id, other_character),
        item(client_id, character_id, end_user="bob"),
        item(client_id, character_id, end_user=None),
    ]
    await store.add([mine, *others])
    await embed_all(store, {i.id: axis(0) for i in [mine, *others]})

    assert [h.item.id for h in await store.recall(query(mine, axis(0)))] == [mine.id]
    anonymous = await store.recall(query(mine, axis(0), end_user=None))
    assert [h.item.id for h in anonymous] == [others[3].id]  # no end user is a scope of its own
    assert await store.recall(query(mine, axis(0), model="another-model")) == []


async def test_a_conversation_scope_reads_only_that_conversation(
    storage: Storage, tenant: tuple[UUID, UUID]
) -> None:
    store = storage.memory
    here, there = item(*tenant, conversation_id="c1"), item(*tenant, conversation_id="c2")
    await store.add([here, there])
    await embed_all(store, {here.id: axis(0), there.id: axis(0)})

    hits = await store.recall(query(here, axis(0), conversation_id="c1"))

    assert [h.item.id for h in hits] == [here.id]
    assert len(await store.recall(query(here, axis(0)))) == 2


async def test_adding_an_item_twice_stores_it_once(
    storage: Storage, tenant: tuple[UUID, UUID]
) -> None:
    store = storage.memory
    once = item(*tenant)
    await store.add([once])
    await store.add([once])  # a batch retried after its answer was lost

    assert [i.id for i in await store.list(once.client_id, "alice", None, 10)] == [once.id]


async def test_a_claim_leases_the_oldest_items_until_it_runs_out(
    storage: Storage, tenant: tuple[UUID, UUID]
) -> None:
    store = storage.memory
    items = [item(*tenant, seq=n, at=T0 + timedelta(seconds=n)) for n in (3, 1, 2)]
    await store.add(items)

    first = await store.claim(T0, T0 + LEASE, 2)
    assert [i.seq for i in first] == [1, 2]
    assert [i.seq for i in await store.claim(T0, T0 + LEASE, 10)] == [3]
    assert await store.claim(T0 + LEASE / 2, T0 + LEASE, 10) == []  # all leased
    again = await store.claim(T0 + LEASE, T0 + 2 * LEASE, 10)  # a dead worker's leases ran out
    assert sorted(i.seq for i in again) == [1, 2, 3]


async def test_released_items_are_claimed_again_until_the_attempts_run_out(
    storage: Storage, tenant: tuple[UUID, UUID]
) -> None:
    store = storage.memory
    refused = item(*tenant)
    await store.add([refused])

    for _ in range(MAX_ATTEMPTS):
        [claimed] = await store.claim(T0, T0 + LEASE, 10)
        await store.release([claimed.id])

    assert await store.claim(T0, T0 + LEASE, 10) == []  # given up on
    assert [i.id for i in await store.list(refused.client_id, "alice", None, 10)] == [refused.id]


async def test_erasure_deletes_only_that_end_users_items_of_that_tenant(
    storage: Storage, tenant: tuple[UUID, UUID]
) -> None:
    store = storage.memory
    client_id, character_id = tenant
    other_client = await add_client(storage, T0)
    alices = [item(client_id, character_id, seq=n) for n in (1, 3)]
    kept = [
        item(client_id, character_id, end_user="bob"),
        item(other_client, await character(storage, other_client)),
    ]
    await store.add([*alices, *kept])

    assert await store.erase(client_id, "alice") == 2
    assert await store.erase(client_id, "alice") == 0
    assert await store.list(client_id, "alice", None, 10) == []
    assert len(await store.list(client_id, "bob", None, 10)) == 1
    assert len(await store.list(other_client, "alice", None, 10)) == 1
    await store.embedded([(alices[0].id, axis(0))], MODEL)  # a worker that embedded meanwhile
    assert await store.list(client_id, "alice", None, 10) == []


async def test_expiry_deletes_the_items_older_than_the_cut(
    storage: Storage, tenant: tuple[UUID, UUID]
) -> None:
    store = storage.memory
    old, new = item(*tenant, at=T0), item(*tenant, at=T0 + timedelta(days=2))
    await store.add([old, new])

    assert await store.expire(T0 + timedelta(days=1)) == 1
    assert [i.id for i in await store.list(old.client_id, "alice", None, 10)] == [new.id]


async def test_an_end_users_items_are_listed_in_pages_oldest_first(
    storage: Storage, tenant: tuple[UUID, UUID]
) -> None:
    store = storage.memory
    items = [item(*tenant, seq=n, at=T0 + timedelta(minutes=n)) for n in range(5)]
    await store.add(list(reversed(items)))

    first = await store.list(items[0].client_id, "alice", None, 2)
    after = Cursor(first[-1].created_at, first[-1].id)
    rest = await store.list(items[0].client_id, "alice", after, 10)

    assert [i.seq for i in first] == [0, 1]
    assert [i.seq for i in rest] == [2, 3, 4]


async def test_deleting_a_character_or_its_tenant_deletes_their_memory(
    storage: Storage, tenant: tuple[UUID, UUID]
) -> None:
    store = storage.memory
    client_id, character_id = tenant
    other = await character(storage, client_id)
    await store.add([item(client_id, character_id), item(client_id, other, seq=3)])

    assert await storage.characters.delete(client_id, character_id, T0)
    [left] = await store.list(client_id, "alice", None, 10)
    assert left.character_id == other

    assert await storage.clients.delete(client_id, T0)
    assert await store.list(client_id, "alice", None, 10) == []
