"""TenantCache's own rules, with a change feed that is never connected (its state set by hand)."""

from __future__ import annotations

import asyncio
import math
from uuid import uuid4

from fastwrap.adapters.postgres.cached import TenantCache
from fastwrap.adapters.postgres.changes import ChangeFeed


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
