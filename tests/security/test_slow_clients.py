"""Abuse over a real socket (issue 8.4): chunked bodies, huge headers and slow-loris clients
against uvicorn, which buffers what the in-process transport cannot show.

What uvicorn itself does (0.54, httptools or h11): it times out only idle keep-alive connections
(`timeout_keep_alive`); a request whose headers or body stop arriving is never timed out, and
httptools accepts headers of any size. So the app sets a body deadline (408, connection closed)
and a header limit (431); a client stalled inside its headers holds only its own socket, and the
server keeps serving everyone else.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import httpx
import pytest

from fastwrap.entrypoints.http.limits import RequestLimits
from tests.security.live import Live, live_server, read_until_closed
from tests.support.app import hermetic_settings

DEADLINE = 0.5  # the body deadline these tests run with
SIGNUP_HEAD = (
    b"POST /auth/signup HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
    b"Content-Length: 80\r\n\r\n"
)


@pytest.fixture
async def live() -> AsyncIterator[Live]:
    limits = RequestLimits(max_body_bytes=1024 * 1024, body_timeout_seconds=DEADLINE)
    async with live_server(hermetic_settings(), limits, timeout_keep_alive=1) as server:
        yield server


def status_and_body(raw: bytes) -> tuple[int, dict[str, object], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), json.loads(body), head.lower()


async def assert_responsive(live: Live) -> None:
    async with httpx.AsyncClient(base_url=live.url) as client:
        health = await client.get("/health")
    assert health.status_code == 200


async def test_a_chunked_body_over_the_limit_is_413(live: Live) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"email": "'
        for _ in range(20):
            yield b"e" * 65536

    async with httpx.AsyncClient(base_url=live.url) as client:
        response = await client.post(
            "/auth/signup", content=chunks(), headers={"content-type": "application/json"}
        )
    assert response.status_code == 413
    assert response.json()["error"] == "PayloadTooLarge"
    await assert_responsive(live)


@pytest.mark.parametrize("size", [64 * 1024, 1024 * 1024])
async def test_huge_headers_are_431_from_the_app_even_where_uvicorn_takes_them(
    live: Live, size: int
) -> None:
    request = b"GET /health HTTP/1.1\r\nHost: t\r\nX-Padding: " + b"p" * size + b"\r\n\r\n"
    reader, writer = await live.open()
    writer.write(request)
    answer = await reader.read(65536)
    writer.close()
    status, body, _ = status_and_body(answer)
    assert (status, body["error"]) == (431, "HeadersTooLarge")
    key = b"GET /api/characters HTTP/1.1\r\nHost: t\r\nX-Api-Key: " + b"k" * 16_000 + b"\r\n\r\n"
    reader, writer = await live.open()
    writer.write(key)
    head_and_body = await reader.read(65536)
    writer.close()
    assert head_and_body.startswith(b"HTTP/1.1 401 ")


async def test_a_stalled_body_is_408_and_closed_while_others_are_served(live: Live) -> None:
    reader, writer = await live.open()
    writer.write(SIGNUP_HEAD + b'{"email": "slow')  # then nothing more
    await writer.drain()
    await assert_responsive(live)  # the stalled request does not hold up anyone else
    raw = await read_until_closed(reader, wait=DEADLINE + 10)
    writer.close()
    status, body, head = status_and_body(raw)
    assert (status, body["error"]) == (408, "RequestTimeout")
    assert b"connection: close" in head


async def test_a_trickled_body_meets_the_same_deadline(live: Live) -> None:
    reader, writer = await live.open()
    writer.write(SIGNUP_HEAD)

    async def trickle() -> None:
        for _ in range(80):  # a byte every 50 ms would take 4 s: past the deadline
            writer.write(b" ")
            await writer.drain()
            await asyncio.sleep(0.05)

    trickling = asyncio.create_task(trickle())
    try:
        raw = await read_until_closed(reader, wait=DEADLINE + 10)
    finally:
        trickling.cancel()
        writer.close()
    assert status_and_body(raw)[0] == 408


async def test_stalled_headers_hold_only_their_own_socket(live: Live) -> None:
    """uvicorn never times out a request line or headers that stop half-way (observed: the
    socket stays open until the client or the server's shutdown closes it); what matters is that
    the server keeps answering everyone else and the app never sees the half request."""
    stalled = [await live.open() for _ in range(20)]
    for _, writer in stalled:
        writer.write(b"POST /auth/signup HTTP/1.1\r\nHost: t\r\nContent-Ty")
        await writer.drain()
    await assert_responsive(live)
    reader, _ = stalled[0]
    with pytest.raises(TimeoutError):  # still open, still unanswered
        await read_until_closed(reader, wait=1.5)
    for _, writer in stalled:
        writer.close()


async def test_an_idle_keep_alive_connection_is_closed_by_uvicorn(live: Live) -> None:
    reader, writer = await live.open()
    writer.write(b"GET /health HTTP/1.1\r\nHost: t\r\n\r\n")
    await writer.drain()
    raw = await read_until_closed(reader, wait=10)  # timeout_keep_alive=1 closes it
    writer.close()
    assert raw.startswith(b"HTTP/1.1 200 ")
