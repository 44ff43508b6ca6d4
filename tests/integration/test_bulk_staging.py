"""A batch the database refuses in the staging COPY fails the load with a clear error, leaves
nothing stored, and the next load on the same pool works."""

from __future__ import annotations

import pytest

from fastwrap.adapters.bundles import Storage
from fastwrap.domain.errors import Invalid
from tests.contract.test_vector_index import T0, X, add_client, found, item, query

pytestmark = pytest.mark.integration


@pytest.fixture
def pg_embedding_dim() -> int:
    return 4


async def test_a_refused_batch_fails_the_load_and_stores_nothing(pg_storage: Storage) -> None:
    owner = await add_client(pg_storage)
    # The domain refuses NUL before staging; PostgreSQL's text type refuses it in a COPY.
    bad = item(owner, "bad", X, content="a\x00b")

    async def load() -> None:
        async with pg_storage.snippet_loader.staging(owner) as staging:
            await staging.add([item(owner, "good", X)])
            await staging.add([bad])

    with pytest.raises(Invalid, match="not something the database can store"):
        await load()

    assert await found(pg_storage, query(owner)) == []
    async with pg_storage.snippet_loader.staging(owner) as staging:
        await staging.add([item(owner, "good", X)])
        assert await staging.publish(T0) == 1
    assert await found(pg_storage, query(owner)) == ["good"]
