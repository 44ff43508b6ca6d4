"""What `fastwrap serve` wraps around the app: start-up objects frozen out of the GC once the
app has started, and a failed start-up reported in one line."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.types import Message

from fastwrap.container import make_container
from fastwrap.entrypoints.http.app import create_app
from fastwrap.entrypoints.http.asgi import GC_THRESHOLDS, ServedApp
from tests.support.app import hermetic_settings


@pytest.fixture
def unfrozen() -> Iterator[None]:
    thresholds = gc.get_threshold()
    gc.unfreeze()
    yield
    gc.unfreeze()  # the test process keeps collecting what the test built
    gc.set_threshold(*thresholds)


async def start_and_stop(app: ServedApp) -> list[Message]:
    """Drive the ASGI lifespan protocol like a server does; return what the app sent."""
    inbox: asyncio.Queue[Message] = asyncio.Queue()
    sent: list[Message] = []
    frozen_at_startup: list[int] = []

    async def receive() -> Message:
        return await inbox.get()

    async def send(message: Message) -> None:
        sent.append(message)
        if message["type"] == "lifespan.startup.complete":
            frozen_at_startup.append(gc.get_freeze_count())
            await inbox.put({"type": "lifespan.shutdown"})

    scope: dict[str, Any] = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
    await inbox.put({"type": "lifespan.startup"})
    try:
        await app(scope, receive, send)
    except Exception:  # a failed start-up re-raises after reporting it; the server logs that
        assert sent[-1]["type"] == "lifespan.startup.failed"
    for message in sent:
        if message["type"] == "lifespan.startup.complete":
            message["frozen"] = frozen_at_startup[0]
    return sent


async def test_startup_objects_are_frozen_once_the_app_has_started(unfrozen: None) -> None:
    app = ServedApp(create_app(make_container(hermetic_settings())))
    # Not 0: building an app leaves a few hundred objects in the permanent generation by itself
    # once other tests have run (seen with the LangChain tests first; no gc.freeze involved).
    before = gc.get_freeze_count()

    sent = await start_and_stop(app)

    started = [m for m in sent if m["type"] == "lifespan.startup.complete"]
    assert len(started) == 1
    assert started[0]["frozen"] - before > 10_000  # the modules and models start-up built
    assert gc.get_threshold() == GC_THRESHOLDS
    assert sent[-1]["type"] == "lifespan.shutdown.complete"


async def test_a_failed_startup_freezes_nothing_and_says_why_in_one_line(
    unfrozen: None,
) -> None:
    settings = hermetic_settings(
        fastwrap_storage="postgres", database_url="postgresql://nobody@127.0.0.1:1/none"
    )
    app = ServedApp(create_app(make_container(settings)))
    before, thresholds = gc.get_freeze_count(), gc.get_threshold()

    sent = await start_and_stop(app)

    failed = [m for m in sent if m["type"] == "lifespan.startup.failed"]
    assert len(failed) == 1
    assert failed[0]["message"].startswith("FastWrap cannot start: ")
    assert "database unavailable" in failed[0]["message"]
    assert "\n" not in failed[0]["message"]
    assert gc.get_freeze_count() == before
    assert gc.get_threshold() == thresholds
