"""The app behind a real uvicorn socket, with the request limits and server options a test needs,
and raw-socket helpers for clients that misbehave below what httpx lets one send."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from typing import Any

import uvicorn

from fastwrap.container import make_container
from fastwrap.entrypoints.http.app import create_app
from fastwrap.entrypoints.http.limits import RequestLimits
from fastwrap.settings import Settings


@dataclass(frozen=True)
class Live:
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await asyncio.open_connection("127.0.0.1", self.port)


async def read_until_closed(reader: asyncio.StreamReader, wait: float) -> bytes:
    """Everything the server sends until it closes the connection; raises TimeoutError if it
    is still open after `wait` seconds (a guard against hanging, not a timing assertion)."""
    chunks: list[bytes] = []
    async with asyncio.timeout(wait):
        with suppress(ConnectionResetError):
            while chunk := await reader.read(65536):
                chunks.append(chunk)
    return b"".join(chunks)


@asynccontextmanager
async def live_server(
    settings: Settings, limits: RequestLimits | None = None, **options: Any
) -> AsyncIterator[Live]:
    """`options` go to uvicorn.Config. Its logging is left alone (log_config=None), so tests
    capture uvicorn's own loggers as they are."""
    app = create_app(make_container(settings), limits)
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, **options)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()  # start-up failed: raise its error
            await asyncio.sleep(0.01)
        yield Live(server.servers[0].sockets[0].getsockname()[1])
    finally:
        server.should_exit = True
        server.force_exit = True  # do not wait for the stalled connections a test left open
        await task
