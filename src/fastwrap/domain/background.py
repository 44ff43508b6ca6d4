"""A coroutine run in the background for the duration of a block (an app's lifespan)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any


@asynccontextmanager
async def in_background(
    run: Callable[[], Coroutine[Any, Any, None]], name: str
) -> AsyncIterator[None]:
    """Start `run()` as a task; on the way out, cancel it and wait until it has stopped."""
    task = asyncio.create_task(run(), name=name)
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
