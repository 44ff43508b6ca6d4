"""The app behind a real uvicorn socket, with the request limits and server options a test needs,
and raw-socket helpers for clients that misbehave below what httpx lets one send."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from typing import Any

from fastwrap.container import make_container
from fastwrap.entrypoints.http.app import create_app
from fastwrap.entrypoints.http.limits import RequestLimits
from fastwrap.settings import Settings
from tests.support.app import live_port


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
    capture uvicorn's own loggers as they are; stalled connections a test left open do not
    hold up the stop."""
    app = create_app(make_container(settings), limits)
    async with live_port(app, force_exit=True, log_config=None, **options) as port:
        yield Live(port)
