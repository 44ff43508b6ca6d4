"""Holding a race window open: real adapters wrapped with a pause at a chosen point.

Concurrency bugs hide in the time between a use case's read and its write; bcrypt makes that
window wide in production and narrow in tests. These wrappers make it as wide as a test needs,
deterministically, by waiting on events (never on the clock):

- `PausingHasher`: real bcrypt, but a chosen `hash` or `verify` call returns only when the test
  releases it (the use case has checked the password and is about to write).
- `Meeting`: a repository whose `update` calls each wait until `parties` of them have arrived,
  then all go on together (every writer has read what it read before any of them writes).

Override the container's providers with them (`app_with`), so the app under test is the real
one on real services, with one pause added.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import httpx
from dependency_injector import providers

from fastwrap.adapters.bundles import Storage
from fastwrap.adapters.security.hashing import BcryptPasswordHasher
from fastwrap.container import make_container
from fastwrap.container.resources import open_storage
from fastwrap.ports.security import PasswordHasher
from fastwrap.settings import Settings
from tests.support.app import app_client

WAIT = 10.0  # a forgotten release or a pause never reached fails the test instead of hanging


@dataclass
class Hold:
    """One paused call: `reached` once it is waiting, and it returns after `release()`."""

    reached: asyncio.Event = field(default_factory=asyncio.Event)
    released: asyncio.Event = field(default_factory=asyncio.Event)

    async def wait_reached(self) -> None:
        await asyncio.wait_for(self.reached.wait(), WAIT)

    def release(self) -> None:
        self.released.set()


class PausingHasher(PasswordHasher):
    def __init__(self, inner: PasswordHasher) -> None:
        self._inner = inner
        self._holds: dict[str, list[Hold]] = {"hash": [], "verify": []}

    def hold_next(self, method: str) -> Hold:
        """Pause the next call of `method` ("hash" or "verify") after bcrypt ran."""
        hold = Hold()
        self._holds[method].append(hold)
        return hold

    async def hash(self, password: str) -> str:
        hashed = await self._inner.hash(password)
        await self._pause("hash")
        return hashed

    async def verify(self, password: str, hashed: str) -> bool:
        matches = await self._inner.verify(password, hashed)
        await self._pause("verify")
        return matches

    async def _pause(self, method: str) -> None:
        if self._holds[method]:
            hold = self._holds[method].pop(0)
            hold.reached.set()
            await asyncio.wait_for(hold.released.wait(), WAIT)


class Meeting:
    """Wraps a repository; its `update` calls meet before any of them goes on."""

    def __init__(self, inner: Any, parties: int) -> None:
        self._inner = inner
        self._parties = parties
        self._arrived = 0
        self._all_here = asyncio.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def update(self, *args: Any, **kwargs: Any) -> Any:
        self._arrived += 1
        if self._arrived >= self._parties:
            self._all_here.set()
        await asyncio.wait_for(self._all_here.wait(), WAIT)
        return await self._inner.update(*args, **kwargs)


type Wrap = Callable[[Storage], Storage]


def meeting_on(part: str, parties: int) -> Wrap:
    """A Storage whose `part` ("clients" or "characters") updates meet in groups of `parties`."""

    def wrap(storage: Storage) -> Storage:
        return replace(storage, **{part: Meeting(getattr(storage, part), parties)})

    return wrap


@asynccontextmanager
async def _wrapped_storage(settings: Settings, wrap: Wrap) -> AsyncIterator[Storage]:
    async with open_storage(settings) as storage:
        yield wrap(storage)


@asynccontextmanager
async def app_with(
    settings: Settings, *, hasher: PasswordHasher | None = None, wrap: Wrap | None = None
) -> AsyncIterator[httpx.AsyncClient]:
    """The real app on `settings`, with the hasher replaced and the storage wrapped."""
    container = make_container(settings)
    if hasher is not None:
        container.hasher.override(providers.Object(hasher))
    if wrap is not None:
        container.storage.override(providers.Resource(_wrapped_storage, settings, wrap))
    async with app_client(settings, container) as client:
        yield client


def pausing_hasher(settings: Settings) -> PausingHasher:
    return PausingHasher(BcryptPasswordHasher(rounds=settings.bcrypt_rounds))
