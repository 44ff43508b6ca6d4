"""A small OpenAI-compatible HTTP server for tests and benchmarks, and its pytest fixture.

It serves `POST /v1/chat/completions` (plain JSON, or SSE chunks word by word when `stream` is
true, with a final usage chunk when `stream_options.include_usage` is set) and `POST
/v1/embeddings` (deterministic lexical vectors, `dimensions` honoured, float or base64), on
127.0.0.1 at an ephemeral port, from a background thread. It records every request body.

Behaviour is switchable between calls::

    stub.set_reply("fixed text")       # default: "stub reply to: <last user message>"
    stub.set_failure(500)              # every request answers this status (OpenAI error body)
    stub.set_delay(5.0)                # wait before answering
    stub.set_chunk_delay(0.05)         # wait between streamed chunks
    gate = stub.hold_stream()          # stream the first chunk, then wait for gate.set()
    stub.stream_finished.is_set()      # the last streamed chunk has been sent
    stub.stream_abandoned.wait(5)      # a stream was cut off before its end (client left)
    stub.set_usage(120, 7)             # token counts to report (default: word counts)
    stub.set_raw_reply({...})          # answer completions (not streams) with this exact body
    stub.set_embedding_size(8)         # return vectors of a wrong size
    gate = stub.hold_embeddings(1)     # answer 1 embedding request, hold the rest until set()
    stub.requests                      # [RecordedRequest(path, body, authorization), ...]
    stub.reset()                       # back to defaults, records cleared, waits cut short

Use the `openai_stub` fixture in pytest (one server per session, state reset per test), or
`with OpenAIStub() as stub:` anywhere else (benchmarks).
"""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import struct
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Self

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from fastwrap.adapters.langchain.hashing import feature_vector

HOLD_LIMIT_SECONDS = 10.0  # a held stream never outlives a forgotten gate by more than this


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    path: str
    body: dict[str, Any]
    authorization: str | None


@dataclass(slots=True)
class _Behaviour:
    reply: str | None = None
    fail_status: int | None = None
    fail_message: str | None = None
    delay: float = 0.0
    chunk_delay: float = 0.0
    hold: threading.Event | None = None
    embedding_size: int | None = None
    embedding_hold: tuple[int, threading.Event] | None = None
    usage: tuple[int, int] | None = None
    raw_reply: dict[str, Any] | None = None
    generation: int = 0
    requests: list[RecordedRequest] = field(default_factory=list)


class OpenAIStub:
    """The server and its switches; see the module docstring."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._state = _Behaviour()
        self.stream_finished = threading.Event()
        self.stream_abandoned = threading.Event()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.base_url = ""

    # --- switches -------------------------------------------------------------------------

    def reset(self) -> None:
        with self._lock:
            released = self._state.hold
            self._state = _Behaviour(generation=self._state.generation + 1)
        if released is not None:
            released.set()
        self.stream_finished.clear()
        self.stream_abandoned.clear()

    def set_reply(self, text: str | None) -> None:
        self._state.reply = text

    def set_failure(self, status: int | None, message: str | None = None) -> None:
        self._state.fail_status = status
        self._state.fail_message = message

    def set_delay(self, seconds: float) -> None:
        self._state.delay = seconds

    def set_chunk_delay(self, seconds: float) -> None:
        self._state.chunk_delay = seconds

    def hold_stream(self) -> threading.Event:
        """Make the next streams pause after their first chunk until the returned event is set."""
        gate = threading.Event()
        self._state.hold = gate
        return gate

    def set_usage(self, prompt_tokens: int | None, completion_tokens: int = 0) -> None:
        """Report these token counts (default: words in the prompt and in the reply)."""
        self._state.usage = None if prompt_tokens is None else (prompt_tokens, completion_tokens)

    def set_raw_reply(self, body: dict[str, Any] | None) -> None:
        """Answer chat completions (not streams) with exactly this JSON body."""
        self._state.raw_reply = body

    def hold_embeddings(self, after: int) -> threading.Event:
        """Answer the first `after` embedding requests, then hold the others until the
        returned event is set (or the test moves on)."""
        gate = threading.Event()
        self._state.embedding_hold = (after, gate)
        return gate

    def set_embedding_size(self, size: int | None) -> None:
        self._state.embedding_size = size

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._state.requests)

    def requests_to(self, path: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path == path]

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        config = uvicorn.Config(
            self._app(), loop="asyncio", lifespan="off", log_level="warning",
            access_log=False, timeout_graceful_shutdown=1,
        )  # fmt: skip
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="openai-stub", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the OpenAI stub did not start")
            time.sleep(0.01)
        self.base_url = f"http://127.0.0.1:{port}/v1"

    def stop(self) -> None:
        self.reset()  # cuts every pending wait short so that shutdown is quick
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- the HTTP side (runs on the server thread's loop) ----------------------------------

    def _app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/v1/chat/completions", self._chat, methods=["POST"]),
                Route("/v1/embeddings", self._embeddings, methods=["POST"]),
            ]
        )

    async def _record(self, request: Request) -> tuple[_Behaviour, dict[str, Any]]:
        body = json.loads(await request.body())
        with self._lock:
            state = self._state
            state.requests.append(
                RecordedRequest(request.url.path, body, request.headers.get("authorization"))
            )
        return state, body

    def _current(self, state: _Behaviour) -> bool:
        return state.generation == self._state.generation

    async def _wait(
        self, state: _Behaviour, seconds: float, gone: asyncio.Event | None = None
    ) -> None:
        """Sleep, but stop early once the test has moved on (reset) or the client has left.

        It always yields to the event loop once, so a lost connection is noticed between chunks.
        """
        deadline = time.monotonic() + seconds
        await asyncio.sleep(0)
        while time.monotonic() < deadline and self._current(state):
            if gone is not None and gone.is_set():
                return
            await asyncio.sleep(min(0.02, max(0.0, deadline - time.monotonic())))

    def _failure(self, state: _Behaviour, request: Request) -> Response | None:
        if state.fail_status is None:
            return None
        message = state.fail_message or f"stub failure {state.fail_status}"
        if state.fail_status == 401:  # like OpenAI, echo (part of) the key that was refused
            message = f"Incorrect API key provided: {request.headers.get('authorization', '')}"
        body = {"error": {"message": message, "type": "stub_error", "code": state.fail_status}}
        # A tiny retry-after keeps the client's retries from sleeping for its default backoff.
        headers = {"retry-after-ms": "10"}
        return JSONResponse(body, status_code=state.fail_status, headers=headers)

    async def _chat(self, request: Request) -> Response:
        state, body = await self._record(request)
        await self._wait(state, state.delay)
        failure = self._failure(state, request)
        if failure is not None:
            return failure
        if state.raw_reply is not None and not body.get("stream"):
            return JSONResponse(state.raw_reply)
        messages = body.get("messages", [])
        text = state.reply or f"stub reply to: {_last_user_text(messages)}"
        prompt_tokens, completion_tokens = state.usage or (
            sum(len(str(m.get("content", "")).split()) for m in messages),
            len(text.split()),
        )
        usage = {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens}
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        model = body.get("model", "stub-model")
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            chunks = _chunks(model, text, usage if include_usage else None)
            return _EventStream(lambda send, gone: self._stream(state, chunks, send, gone))
        choice = {
            "index": 0,
            "message": {"role": "assistant", "content": text},
            "finish_reason": "stop",
        }
        return JSONResponse(_envelope(model, "chat.completion", [choice], usage))

    async def _stream(
        self, state: _Behaviour, chunks: list[bytes], send: Send, gone: asyncio.Event
    ) -> None:
        """Write the chunks, pausing as told; stop the moment the client has gone."""
        for i, chunk in enumerate(chunks):
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
            if i == 0 and state.hold is not None:
                await self._hold(state, state.hold, gone)
            else:
                await self._wait(state, state.chunk_delay, gone)
            if gone.is_set():
                self._announce(state, self.stream_abandoned)
                return
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        self._announce(state, self.stream_finished)

    def _announce(self, state: _Behaviour, event: threading.Event) -> None:
        # A stream a reset cut loose must not speak to the next test.
        if self._current(state):
            event.set()

    async def _hold(self, state: _Behaviour, gate: threading.Event, gone: asyncio.Event) -> None:
        deadline = time.monotonic() + HOLD_LIMIT_SECONDS
        while not gate.is_set() and not gone.is_set() and time.monotonic() < deadline:
            if not self._current(state):
                return
            await asyncio.sleep(0.01)

    async def _embeddings(self, request: Request) -> Response:
        state, body = await self._record(request)
        await self._wait(state, state.delay)
        if state.embedding_hold is not None:
            after, gate = state.embedding_hold
            if len(self.requests_to(request.url.path)) > after:
                await self._hold(state, gate, gone=asyncio.Event())  # held until the gate
        failure = self._failure(state, request)
        if failure is not None:
            return failure
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        size = state.embedding_size or body.get("dimensions") or 1536
        base64_wanted = body.get("encoding_format") == "base64"
        data = []
        for index, text in enumerate(inputs):
            vector = feature_vector(str(text), size)
            encoded: Any = list(vector)
            if base64_wanted:
                encoded = base64.b64encode(struct.pack(f"<{size}f", *vector)).decode()
            data.append({"object": "embedding", "index": index, "embedding": encoded})
        tokens = sum(len(str(t).split()) for t in inputs)
        usage = {"prompt_tokens": tokens, "total_tokens": tokens}
        return JSONResponse(
            {"object": "list", "data": data, "model": body.get("model"), "usage": usage}
        )


class _EventStream(Response):
    """An SSE response that watches for the client leaving while it writes.

    The departure is learnt from the ASGI `http.disconnect` event, which the server sends when
    the connection is lost, never from a write failing: asyncio's transport drops writes to a
    dead socket with a logged warning rather than raising them to the writer.
    """

    media_type = "text/event-stream"

    def __init__(self, write: Callable[[Send, asyncio.Event], Awaitable[None]]) -> None:
        self.status_code = 200
        self.background = None
        self.init_headers()
        self._write = write

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        gone = asyncio.Event()

        async def watch() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            gone.set()

        watcher = asyncio.create_task(watch())
        try:
            start = {"type": "http.response.start", "status": 200, "headers": self.raw_headers}
            await send(start)
            await self._write(send, gone)
        finally:
            watcher.cancel()


def _chunks(model: str, text: str, usage: dict[str, int] | None) -> list[bytes]:
    """The SSE body of a streamed completion: one chunk per word, stop, usage, [DONE]."""
    words = text.split(" ")
    pieces = [w if i == 0 else " " + w for i, w in enumerate(words)]
    chunks = []
    for i, piece in enumerate(pieces):
        delta = {"role": "assistant", "content": piece} if i == 0 else {"content": piece}
        choice = {"index": 0, "delta": delta, "finish_reason": None}
        chunks.append(_sse(_envelope(model, "chat.completion.chunk", [choice], None)))
    stop = {"index": 0, "delta": {}, "finish_reason": "stop"}
    chunks.append(_sse(_envelope(model, "chat.completion.chunk", [stop], None)))
    if usage is not None:
        chunks.append(_sse(_envelope(model, "chat.completion.chunk", [], usage)))
    chunks.append(b"data: [DONE]\n\n")
    return chunks


def _last_user_text(messages: list[dict[str, Any]]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user":
            return str(message.get("content", ""))
    return ""


def _envelope(
    model: str, kind: str, choices: list[dict[str, Any]], usage: dict[str, int] | None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "chatcmpl-stub",
        "object": kind,
        "created": int(time.time()),
        "model": model,
        "choices": choices,
    }
    if usage is not None:
        body["usage"] = usage
    return body


def _sse(payload: dict[str, Any]) -> bytes:
    return f"data: {json.dumps(payload)}\n\n".encode()


@pytest.fixture(scope="session")
def _openai_stub_server() -> Iterator[OpenAIStub]:
    with OpenAIStub() as stub:
        yield stub


@pytest.fixture
def openai_stub(_openai_stub_server: OpenAIStub) -> Iterator[OpenAIStub]:
    """The session's OpenAI-compatible stub, with default behaviour and no recorded requests."""
    _openai_stub_server.reset()
    yield _openai_stub_server
    _openai_stub_server.reset()
