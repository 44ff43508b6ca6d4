"""A coroutine run in the background for the duration of a block (an app's lifespan), and the
loop of a worker that drains a store a batch at a time."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any

from fastwrap.domain.errors import DomainError


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


async def keep_stepping(
    step: Callable[[], Awaitable[int]],
    *,
    full: int,
    wait: Callable[[float], Awaitable[None]],
    poll_seconds: float,
    log: logging.Logger,
    store: str,
    worker: str,
) -> None:
    """Run `step` (it returns how many items it did) until cancelled: again at once after a
    full step of `full` items, since more may be waiting; otherwise after `wait(poll_seconds)`
    (a doorbell, or the poll interval) rather than asking the store again for what is likely
    nothing. A store that fails (DomainError) is logged as `store` unavailable and tried again
    after the wait; any other exception is logged with its traceback as `worker` failing, and
    tried again too: a bug must not stop the work for the life of the process."""
    while True:
        done = 0
        try:
            done = await step()
        except DomainError as exc:
            log.warning("%s unavailable: %s", store, exc.detail)
        except Exception:
            log.exception("%s failed; trying again", worker)
        if done < full:
            await wait(poll_seconds)
