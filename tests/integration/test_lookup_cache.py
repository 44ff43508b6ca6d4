"""Key and character lookups cached in memory, dropped on the database's change notices.

Two storages on one database stand for two replicas: what one changes (or plain SQL changes),
the other stops serving as soon as PostgreSQL announces the commit. Each test also proves the
cache really serves from memory (a change made with the notices switched off stays unseen), so
none of them could pass against a storage that simply asks the database every time.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack, contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from uuid import UUID, uuid4

import asyncpg
import pytest

from fastwrap.adapters.bundles import Storage
from fastwrap.adapters.postgres.changes import APPLICATION
from fastwrap.adapters.postgres.storage import open_postgres_storage
from fastwrap.domain.model import Character, Client
from fastwrap.domain.updates import CharacterPatch, ClientUpdate
from tests.contract.seeds import add_client

pytestmark = pytest.mark.integration

NOW = datetime(2025, 1, 1, tzinfo=UTC)
NOTICE_WAIT = 5.0  # generous for a loaded machine; a notice normally lands within a millisecond

type Replicas = tuple[Storage, Storage]


@pytest.fixture
async def replicas(pg_dsn: str, pg_embedding_dim: int) -> AsyncIterator[Replicas]:
    async with AsyncExitStack() as stack:
        one, two = [
            await stack.enter_async_context(
                open_postgres_storage(
                    pg_dsn,
                    adapter="postgres",
                    pool_min=1,
                    pool_max=2,
                    embedding_dim=pg_embedding_dim,
                    lookup_cache_size=100,
                )
            )
            for _ in range(2)
        ]
        yield one, two


async def soon[T](read: Callable[[], Awaitable[T]], want: Callable[[T], bool]) -> float:
    """Seconds until `read()` gives what we want (fails after NOTICE_WAIT)."""
    started = time.perf_counter()
    while True:
        if want(await read()):
            return time.perf_counter() - started
        assert time.perf_counter() - started < NOTICE_WAIT, "the change notice never arrived"
        await asyncio.sleep(0.001)


async def sql(dsn: str, *statements: str, args: tuple[object, ...] = ()) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        for statement in statements:
            await conn.execute(statement, *args)
    finally:
        await conn.close()


async def silently(dsn: str, statement: str, *args: object) -> None:
    """Run `statement` with the change triggers off: no notice is sent."""
    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction():
            await conn.execute("SET LOCAL session_replication_role = replica")
            await conn.execute(statement, *args)
    finally:
        await conn.close()


def ada(client_id: UUID, character_id: UUID | None = None) -> Character:
    return Character(
        id=character_id or uuid4(), client_id=client_id, name="Ada", agent_role="You are Ada.",
        created_at=NOW, updated_at=NOW,
    )  # fmt: skip


async def a_client(storage: Storage) -> Client:
    client = await storage.clients.get(await add_client(storage, NOW))
    assert client is not None
    return client


async def a_cached_client(storage: Storage) -> Client:
    """A client whose key lookup this storage has answered, so now holds in its cache."""
    client = await a_client(storage)
    assert await storage.clients.get_by_key_digest(client.key_digest) == client
    return client


async def a_character_cached_by_both(replicas: Replicas) -> tuple[Client, Character]:
    """A character added on the first replica, whose lookup the second now holds in its cache."""
    one, two = replicas
    client = await a_client(one)
    character = ada(client.id)
    await one.characters.add(character)
    assert await two.characters.get(client.id, character.id) == character
    return client, character


async def test_a_lookup_is_served_from_memory_until_the_row_changes(
    replicas: Replicas, pg_dsn: str
) -> None:
    one, _ = replicas
    client = await a_cached_client(one)

    # Changed behind the triggers' back: the cached answer stands, so it is a cache.
    await silently(pg_dsn, "UPDATE clients SET is_active = false WHERE id = $1", client.id)
    assert await one.clients.get_by_key_digest(client.key_digest) == client

    # A real change is announced, and the next lookup sees it.
    await sql(pg_dsn, "UPDATE clients SET is_admin = true WHERE id = $1", args=(client.id,))
    await soon(
        lambda: one.clients.get_by_key_digest(client.key_digest),
        lambda found: found is not None and found.is_admin and not found.is_active,
    )


async def test_a_regenerated_key_is_refused_by_the_other_replica(replicas: Replicas) -> None:
    one, two = replicas
    client = await a_client(one)
    assert await two.clients.get_by_key_digest(client.key_digest) == client  # cached on two

    rotated = await one.clients.update(
        client.id, ClientUpdate(key_digest=uuid4().hex * 2, updated_at=NOW)
    )
    assert rotated is not None

    # The write returned once the other replica confirmed it read the notice: at once, on both.
    assert await one.clients.get_by_key_digest(client.key_digest) is None
    assert await two.clients.get_by_key_digest(client.key_digest) is None
    assert await two.clients.get_by_key_digest(rotated.key_digest) == rotated


async def test_a_deactivation_holds_on_every_replica_when_it_returns(replicas: Replicas) -> None:
    one, two = replicas
    client = await a_client(one)
    for replica in replicas:
        assert await replica.clients.get_by_key_digest(client.key_digest) == client

    await two.clients.update(client.id, ClientUpdate(is_active=False, updated_at=NOW))

    for replica in replicas:
        found = await replica.clients.get_by_key_digest(client.key_digest)
        assert found is not None
        assert not found.is_active


async def test_a_deleted_client_and_its_characters_are_gone_everywhere(
    replicas: Replicas,
) -> None:
    one, two = replicas
    client, character = await a_character_cached_by_both(replicas)
    assert await two.clients.get_by_key_digest(client.key_digest) == client

    assert await one.clients.delete(client.id, NOW)

    assert await one.clients.get_by_key_digest(client.key_digest) is None
    assert await one.characters.get(client.id, character.id) is None
    assert await two.clients.get_by_key_digest(client.key_digest) is None
    assert await two.characters.get(client.id, character.id) is None


async def test_a_changed_prompt_reaches_the_next_turn_on_every_replica(
    replicas: Replicas, pg_dsn: str
) -> None:
    one, two = replicas
    client, character = await a_character_cached_by_both(replicas)

    await one.characters.update(
        client.id, character.id, CharacterPatch(agent_role="You are Grace."), NOW
    )

    assert (await one.characters.get(client.id, character.id)) == replace(
        character, agent_role="You are Grace."
    )
    await soon(
        lambda: two.characters.get(client.id, character.id),
        lambda found: found is not None and found.agent_role == "You are Grace.",
    )
    # And a change in plain SQL (an operator's fix) is seen the same way.
    await sql(
        pg_dsn, "UPDATE characters SET agent_role = 'You are Alan.' WHERE id = $1",
        args=(character.id,),
    )  # fmt: skip
    for replica in replicas:
        await soon(
            lambda r=replica: r.characters.get(client.id, character.id),  # type: ignore[misc]
            lambda found: found is not None and found.agent_role == "You are Alan.",
        )


async def test_a_miss_is_never_cached(replicas: Replicas) -> None:
    one, two = replicas
    client = await a_client(one)
    character_id = uuid4()
    assert await two.characters.get(client.id, character_id) is None

    character = ada(client.id, character_id)
    await one.characters.add(character)  # an insert sends no notice, and needs none

    assert await two.characters.get(client.id, character_id) == character


async def test_lost_notices_turn_the_cache_off_until_they_are_back(
    replicas: Replicas, pg_dsn: str
) -> None:
    one, _ = replicas
    client = await a_cached_client(one)

    # Kill every listening connection: the notices stop, so the cache must stop serving.
    await sql(
        pg_dsn,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        f"WHERE application_name = '{APPLICATION}'",
    )
    await silently(pg_dsn, "UPDATE clients SET is_active = false WHERE id = $1", client.id)
    await soon(
        lambda: one.clients.get_by_key_digest(client.key_digest),
        lambda found: found is not None and not found.is_active,
    )

    # The feed reconnects by itself; then lookups are served from memory again. Each try
    # changes the row silently to a value never seen before: a lookup that went to the
    # database would see it. (A fixed value could be cached by the try during which the feed
    # came back, and then look stale for ever.)
    async def cached_again() -> bool:
        before = await one.clients.get_by_key_digest(client.key_digest)  # cached if live
        email = f"{uuid4().hex[:12]}@example.com"
        await silently(pg_dsn, "UPDATE clients SET email = $2 WHERE id = $1", client.id, email)
        return await one.clients.get_by_key_digest(client.key_digest) == before

    await soon(cached_again, bool)


async def test_a_truncate_empties_every_cache(replicas: Replicas, pg_dsn: str) -> None:
    one, two = replicas
    client = await a_client(one)
    assert await two.clients.get_by_key_digest(client.key_digest) == client

    await sql(
        pg_dsn,
        "TRUNCATE clients, characters, embeddings, embedding_terms, documents, jobs, api_keys,"
        " end_user_tokens",
    )

    await soon(lambda: two.clients.get_by_key_digest(client.key_digest), lambda c: c is None)


async def listener_pids(dsn: str) -> set[int]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT pid FROM pg_stat_activity WHERE application_name = $1", APPLICATION
        )
    finally:
        await conn.close()
    return {row["pid"] for row in rows}


@contextmanager
def frozen(pid: int) -> Iterator[None]:
    """The server process behind one connection, stopped: a replica cut off from its notices
    (its socket stays open, so nothing tells it the notices stopped)."""
    try:
        os.kill(pid, signal.SIGSTOP)
    except (PermissionError, ProcessLookupError):
        pytest.skip("the test database server is not a local process this test can pause")
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


async def test_a_replica_cut_off_from_the_notices_serves_no_revoked_key(
    pg_dsn: str, pg_embedding_dim: int
) -> None:
    """The other replica never answers the rotation's sync, so the rotation waits out its
    lease; by the time it returns, that replica no longer serves its cached rows."""
    async with AsyncExitStack() as stack:

        async def replica() -> Storage:
            return await stack.enter_async_context(
                open_postgres_storage(
                    pg_dsn, adapter="postgres", pool_min=1, pool_max=2,
                    embedding_dim=pg_embedding_dim, lookup_cache_size=100,
                )
            )  # fmt: skip

        one = await replica()
        [one_listener] = await listener_pids(pg_dsn)
        two = await replica()
        client = await a_client(two)
        assert await one.clients.get_by_key_digest(client.key_digest) == client  # cached

        with frozen(one_listener):
            change = ClientUpdate(key_digest=uuid4().hex * 2, updated_at=NOW)
            rotated = await two.clients.update(client.id, change)

            assert await one.clients.get_by_key_digest(client.key_digest) is None
            assert rotated is not None
            assert await one.clients.get_by_key_digest(rotated.key_digest) == rotated
