"""What one model call costs the caller's CPU: raw httpx, the openai SDK, LangChain.

Sequential calls from one process against the zero-latency stub (in its own process), with
prompts of several sizes, on uvloop. CPU time counts every thread of this process, so the work
langchain-openai hands to a thread pool is included. This isolates the per-call price of each
layer that FastWrap's chat path goes through (LangChain → openai SDK → httpx).

    uv run python bench/llm_overhead.py [--calls 400]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import uvloop
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_openai import ChatOpenAI
from openai import AsyncOpenAI, DefaultAsyncHttpxClient
from stack import Process, free_port, wait_stub

MODEL = "gpt-4o-mini"
SIZES = (2, 12, 52)  # system + history + user: no history, 10 and 50 history messages


class ExtraBodyChatOpenAI(ChatOpenAI):
    """ChatOpenAI sending the messages in `extra_body`, which the openai SDK merges into the
    JSON body as they are, instead of walking each one against its TypedDict union."""

    def _get_request_payload(
        self, input_: Any, *, stop: Any = None, **kwargs: Any
    ) -> dict[str, Any]:
        payload: dict[str, Any] = super()._get_request_payload(input_, stop=stop, **kwargs)
        if "messages" in payload:
            extra = dict(payload.get("extra_body") or {})
            extra["messages"] = payload["messages"]
            payload["messages"], payload["extra_body"] = [], extra
        return payload


def prompt(size: int) -> list[dict[str, str]]:
    messages = [{"role": "system", "content": "You are Captain Byte, a cheerful pirate."}]
    for n in range(size - 2):
        role = "user" if n % 2 == 0 else "assistant"
        messages.append({"role": role, "content": f"message {n}: what is the weather on deck?"})
    messages.append({"role": "user", "content": "What is the weather like on deck today?"})
    return messages


def as_langchain(messages: list[dict[str, str]]) -> list[BaseMessage]:
    kinds = {"system": SystemMessage, "user": HumanMessage, "assistant": AIMessage}
    return [kinds[m["role"]](content=m["content"]) for m in messages]


async def measure(call: Callable[[], Awaitable[str]], calls: int) -> tuple[float, float]:
    """(CPU µs per call, wall µs per call) after a warm-up."""
    for _ in range(200):
        await call()
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(calls):
        await call()
    return (
        (time.process_time() - cpu) / calls * 1e6,
        (time.perf_counter() - wall) / calls * 1e6,
    )


@dataclass(frozen=True, slots=True)
class Clients:
    http: httpx.AsyncClient
    sdk: AsyncOpenAI
    chain: ChatOpenAI
    chain_extra: ChatOpenAI


def clients(base_url: str) -> Clients:
    def langchain(cls: type[ChatOpenAI]) -> ChatOpenAI:
        # As FastWrap builds it (adapters/langchain/providers.py).
        return cls(
            model=MODEL, base_url=base_url, api_key="k", timeout=60, max_retries=2,
            stream_usage=True, http_async_client=DefaultAsyncHttpxClient(),
        )  # fmt: skip

    return Clients(
        http=httpx.AsyncClient(base_url=base_url, headers={"authorization": "Bearer k"}),
        sdk=AsyncOpenAI(base_url=base_url, api_key="k", max_retries=2, timeout=60),
        chain=langchain(ChatOpenAI),
        chain_extra=langchain(ExtraBodyChatOpenAI),
    )


def variants(c: Clients, size: int) -> list[tuple[str, Callable[[], Awaitable[str]]]]:
    messages: Any = prompt(size)
    lc_messages = as_langchain(messages)

    async def raw() -> str:
        body = orjson.dumps({"model": MODEL, "messages": messages})
        answer = await c.http.post(
            "/chat/completions", content=body, headers={"content-type": "application/json"}
        )
        return str(orjson.loads(answer.content)["choices"][0]["message"]["content"])

    async def openai_sdk() -> str:
        completion = await c.sdk.chat.completions.create(model=MODEL, messages=messages)
        return completion.choices[0].message.content or ""

    async def openai_extra_body() -> str:
        completion = await c.sdk.chat.completions.create(
            model=MODEL, messages=[], extra_body={"messages": messages}
        )
        return completion.choices[0].message.content or ""

    async def langchain() -> str:
        return str((await c.chain.ainvoke(lc_messages)).text)

    async def langchain_extra_body() -> str:
        return str((await c.chain_extra.ainvoke(lc_messages)).text)

    return [
        ("httpx+orjson", raw),
        ("openai SDK", openai_sdk),
        ("SDK+extra_body", openai_extra_body),
        ("LangChain", langchain),
        ("LC+extra_body", langchain_extra_body),
    ]


async def run(base_url: str, calls: int) -> list[tuple[int, str, float]]:
    """(prompt size, variant, CPU µs per call) for every size and variant."""
    c = clients(base_url)
    results = []
    for size in SIZES:
        for name, call in variants(c, size):
            cpu, wall = await measure(call, calls)
            print(
                f"{size:3d} messages  {name:14}  CPU {cpu:6.0f} µs  wall {wall:6.0f} µs per call",
                flush=True,
            )
            results.append((size, name, cpu))
    await c.http.aclose()
    await c.sdk.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=400)
    calls = parser.parse_args().calls
    port = free_port()
    log = Path(os.environ.get("TMPDIR", "/tmp")) / f"llm-overhead-stub-{port}.log"
    with log.open("wb") as out:
        popen = subprocess.Popen(
            [sys.executable, str(Path(__file__).with_name("stub_server.py")), "--port", str(port)],
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    stub = Process("stub", popen, log)
    try:
        wait_stub(stub, port)
        results = uvloop.run(run(f"http://127.0.0.1:{port}/v1", calls))
    finally:
        stub.stop()
        log.unlink(missing_ok=True)
    summary = ", ".join(f"{name} {cpu:.0f} µs" for size, name, cpu in results if size == 12)
    print(f"RESULT model call CPU with 12 messages: {summary}")


if __name__ == "__main__":
    main()
