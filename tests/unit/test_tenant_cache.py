"""TenantCache's own rules, with a change feed that is never connected (its state set by hand)."""

from __future__ import annotations

import asyncio
import math
import time
from uuid import uuid4

from fastwrap.adapters.postgres.cached import TenantCache
from fastwrap.adapters.postgres.changes import LEASE, ChangeFeed


def live_feed() -> ChangeFeed:
    feed = ChangeFeed("postgresql://unused")
    feed.live = True
    feed.confirmed_at = math.inf  # a lease that never runs out
    return feed


class Loader:
    """Counts the trips to "the database" and can hold one open."""

    def __init__(self, value: str | None) -> None:
        self.value = value
        self.calls = 0
        self.gate: asyncio.Event | None = None
        self.entered = asyncio.Event()

    async def __call__(self) -> str | None:
        self.calls += 1
        self.entered.set()
        if self.gate is not None:
            await self.gate.wait()
        return self.value


async def test_a_found_value_is_served_from_memory_while_the_feed_is_live() -> None:
    feed, tenant = live_feed(), uuid4()
    cache: TenantCache[str, str] = TenantCache(feed, 10)
    load = Loader("row")

    assert await cache.through("k", load, lambda _: tenant) == "row"
    assert await cache.through("k", load, lambda _: tenant) == "row"
    assert load.calls == 1

    feed.live = False  # notices lost: every lookup asks again
    assert await cache.through("k", load, lambda _: tenant) == "row"
    assert load.calls == 2


async def test_an_answer_overtaken_by_a_change_is_not_kept() -> None:
    feed, tenant = live_feed(), uuid4()
    cache: TenantCache[str, str] = TenantCache(feed, 10)
    load = Loader("old row")
    load.gate = asyncio.Event()

    lookup = asyncio.create_task(cache.through("k", load, lambda _: tenant))
    await load.entered.wait()
    feed.changed(tenant)  # the row changes while the query is in flight
    load.gate.set()
    assert await lookup == "old row"  # this caller raced the change; the next one must not

    load.gate, load.value = None, "new row"
    assert await cache.through("k", load, lambda _: tenant) == "new row"
    assert load.calls == 2


async def test_a_change_drops_only_that_tenants_entries() -> None:
    feed = live_feed()
    cache: TenantCache[str, str] = TenantCache(feed, 10)
    ours, theirs = uuid4(), uuid4()
    await cache.through("a", Loader("a"), lambda _: ours)
    await cache.through("b", Loader("b"), lambda _: theirs)

    feed.changed(ours)

    load_a, load_b = Loader("a2"), Loader("b2")
    assert await cache.through("a", load_a, lambda _: ours) == "a2"
    assert await cache.through("b", load_b, lambda _: theirs) == "b"
    assert (load_a.calls, load_b.calls) == (1, 0)
    feed.changed(None)
    assert len(cache) == 0


async def test_misses_are_not_kept_and_the_size_is_bounded() -> None:
    feed, tenant = live_feed(), uuid4()
    cache: TenantCache[str, str] = TenantCache(feed, 2)
    missing = Loader(None)
    assert await cache.through("gone", missing, lambda _: tenant) is None
    assert await cache.through("gone", missing, lambda _: tenant) is None
    assert missing.calls == 2

    for key in ("a", "b", "c"):
        await cache.through(key, Loader(key), lambda _: tenant)
    assert len(cache) == 2
    reload_a = Loader("a again")
    assert await cache.through("a", reload_a, lambda _: tenant) == "a again"  # oldest went
    assert reload_a.calls == 1


async def test_nothing_of_a_tenant_is_served_or_kept_while_this_process_writes_it() -> None:
    """An answer read before a local write commits must not outlive the write, even if it
    arrives after the write's own eviction (the write is still in flight)."""
    feed, tenant = live_feed(), uuid4()
    cache: TenantCache[str, str] = TenantCache(feed, 10)
    await cache.through("k", Loader("old row"), lambda _: tenant)

    with feed.writing(tenant):
        # Evicted before the write: the cached row is not served while it is in flight.
        during = Loader("old row, read before the commit")
        assert await cache.through("k", during, lambda _: tenant) == during.value
        assert await cache.through("k", during, lambda _: tenant) == during.value
        assert during.calls == 2  # and not kept either
    after = Loader("new row")
    assert await cache.through("k", after, lambda _: tenant) == "new row"
    assert await cache.through("k", after, lambda _: tenant) == "new row"
    assert after.calls == 1  # kept again once the write is over


async def test_a_lookup_that_a_local_write_overtook_is_not_kept() -> None:
    feed, tenant = live_feed(), uuid4()
    cache: TenantCache[str, str] = TenantCache(feed, 10)
    load = Loader("old row")
    load.gate = asyncio.Event()
    lookup = asyncio.create_task(cache.through("k", load, lambda _: tenant))
    await load.entered.wait()

    with feed.writing(tenant):  # a write starts and commits while the lookup is in flight
        pass
    load.gate.set()
    await lookup

    load.gate, load.value = None, "new row"
    assert await cache.through("k", load, lambda _: tenant) == "new row"


async def test_without_a_recent_confirmation_the_cache_is_bypassed() -> None:
    """The lease: a process that has not heard from the database lately serves nothing from
    memory (here the last confirmation is set long ago)."""
    feed, tenant = live_feed(), uuid4()
    cache: TenantCache[str, str] = TenantCache(feed, 10)
    load = Loader("row")
    await cache.through("k", load, lambda _: tenant)

    feed.confirmed_at = time.monotonic() - 2 * LEASE
    assert await cache.through("k", load, lambda _: tenant) == "row"
    assert await cache.through("k", load, lambda _: tenant) == "row"
    assert load.calls == 3
