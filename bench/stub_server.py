"""A zero-latency OpenAI-compatible chat server for benchmarks, run in a process of its own.

`POST /v1/chat/completions` answers at once with one fixed completion (usage included); any
other request gets a 404. Raw asyncio on uvloop rather than a web framework, so the stub costs
as little CPU as possible on a small machine where the load generator, the servers under test,
Redis and PostgreSQL share the cores. Keep-alive and pipelined requests are handled; streaming
is not (the benchmarks never ask for it).

    python bench/stub_server.py --port 9101
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
from typing import cast

REPLY = "Ahoy! This is the benchmark stub answering at once."
COMPLETION = json.dumps(
    {
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": "bench-model",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": REPLY},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 42, "completion_tokens": 9, "total_tokens": 51},
    }
).encode()
HEADERS_END = b"\r\n\r\n"
MAX_HEADER_BYTES = 65_536


def response(status: bytes, body: bytes) -> bytes:
    head = (
        b"HTTP/1.1 " + status + b"\r\ncontent-type: application/json\r\n"
        b"content-length: " + str(len(body)).encode() + b"\r\n\r\n"
    )
    return head + body


OK = response(b"200 OK", COMPLETION)
NOT_FOUND = response(b"404 Not Found", b'{"error": {"message": "not found"}}')


def content_length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value.strip())
    return 0


class StubProtocol(asyncio.Protocol):
    def __init__(self) -> None:
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, only look like them.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while self.transport is not None:
            end = self.buffer.find(HEADERS_END)
            if end < 0:
                if len(self.buffer) > MAX_HEADER_BYTES:
                    self.transport.close()
                return
            head = self.buffer[:end]
            total = end + len(HEADERS_END) + content_length(head)
            if len(self.buffer) < total:
                return  # the body has not fully arrived yet
            self.buffer = self.buffer[total:]
            request_line = head.split(b"\r\n", 1)[0]
            wanted = request_line.startswith(b"POST ") and b"/chat/completions" in request_line
            self.transport.write(OK if wanted else NOT_FOUND)


async def serve(port: int) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    server = await loop.create_server(StubProtocol, "127.0.0.1", port, backlog=1024)
    async with server:
        await stop.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    port = parser.parse_args().port
    try:
        import uvloop
    except ImportError:  # plain asyncio still works, a little slower
        asyncio.run(serve(port))
    else:
        uvloop.run(serve(port))


if __name__ == "__main__":
    main()
