"""The bulk loader contract: staged rows are invisible until published, then upserted at once."""

from __future__ import annotations

from array import array

import pytest

from fastwrap.adapters.bundles import Storage
from fastwrap.domain.errors import NotFound
from tests.contract.test_vector_index import T0, T1, X, add_client, found, item, query


@pytest.fixture
def pg_embedding_dim() -> int:
    return 4


async def test_staged_rows_appear_only_when_published(storage: Storage) -> None:
    owner = await add_client(storage)
    async with storage.snippet_loader.staging(owner) as staging:
        await staging.add([item(owner, "a", X), item(owner, "b", array("f", X))])
        await staging.add([item(owner, "c", X, metadata={"k": [1, "two"]})])
        assert await found(storage, query(owner)) == []
        assert await staging.publish(T0) == 3

    assert sorted(await found(storage, query(owner))) == ["a", "b", "c"]
    assert await found(storage, query(owner, metadata={"k": ["two"]})) == ["c"]


async def test_a_failure_before_publishing_discards_everything(storage: Storage) -> None:
    owner = await add_client(storage)

    async def stage_then_fail() -> None:
        async with storage.snippet_loader.staging(owner) as staging:
            await staging.add([item(owner, "a", X)])
            raise RuntimeError("the caller found a bad line")

    with pytest.raises(RuntimeError):
        await stage_then_fail()

    assert await found(storage, query(owner)) == []


async def test_publishing_replaces_like_an_upsert(storage: Storage) -> None:
    owner = await add_client(storage)
    [before] = await storage.vectors.upsert([item(owner, "a", X, content="old")], T0)
    async with storage.snippet_loader.staging(owner) as staging:
        await staging.add([item(owner, "a", X, content="new")])
        assert await staging.publish(T1) == 1

    [hit] = await storage.vectors.search(query(owner))
    assert (hit.snippet.id, hit.snippet.created_at, hit.snippet.updated_at) == (before.id, T0, T1)
    assert hit.snippet.content == "new"


async def test_a_deleted_tenant_gets_nothing_stored(storage: Storage) -> None:
    owner = await add_client(storage)
    async with storage.snippet_loader.staging(owner) as staging:
        await staging.add([item(owner, "a", X)])
        await storage.clients.delete(owner, T0)
        with pytest.raises(NotFound):
            await staging.publish(T1)

    assert await found(storage, query(owner)) == []


async def test_many_batches_then_a_failure_discard_everything_and_the_loader_goes_on(
    storage: Storage,
) -> None:
    owner = await add_client(storage)

    async def stage_then_fail() -> None:
        async with storage.snippet_loader.staging(owner) as staging:
            for n in range(5):  # five staging COPYs on PostgreSQL
                await staging.add([item(owner, f"b{n}-{k}", X) for k in range(20)])
            raise RuntimeError("the caller found a bad line")

    with pytest.raises(RuntimeError):
        await stage_then_fail()
    assert await found(storage, query(owner)) == []

    async with storage.snippet_loader.staging(owner) as staging:
        for n in range(5):
            await staging.add([item(owner, f"c{n}-{k}", X) for k in range(20)])
        assert await staging.publish(T0) == 100
    hits = await found(storage, query(owner, top_k=50))
    assert len(hits) == 50
    assert all(hit.startswith("c") for hit in hits)
