"""What one model call costs the caller's CPU: raw httpx, the openai SDK, LangChain, FastWrap.

Sequential calls from one process against the zero-latency stub (in its own process), with
prompts of several sizes, on uvloop. CPU time counts every thread of this process, so the work
langchain-openai hands to a thread pool is included. This isolates the per-call price of each
layer that FastWrap's chat path goes through (LangChain → openai SDK → httpx), and of FastWrap's
two lanes, built by the product's own build_chat_model:

- `FW LangChain run`: a traced reply, through `ainvoke` (LangChain's run and message objects);
- `FW plain lane`: an untraced reply (adapters/langchain/openai_chat.py, PlainCompletion).

`LC+extra_body arg` is the public-API way to skip the SDK's per-message transform (the messages
as `ainvoke(..., extra_body=...)`), for comparison.

    uv run python bench/llm_overhead.py [--calls 200] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
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
from langchain_openai import ChatOpenAI
from openai import AsyncOpenAI, DefaultAsyncHttpxClient
from stack import Process, free_port, wait_stub

from fastwrap.adapters.langchain.chat_model import to_langchain
from fastwrap.adapters.langchain.providers import build_chat_model
from fastwrap.domain.model import PromptMessage
from fastwrap.ports.llm import ChatModel

MODEL = "gpt-4o-mini"
SIZES = (2, 12, 52)  # system + history + user: no history, 10 and 50 history messages


def prompt(size: int) -> list[PromptMessage]:
    messages = [PromptMessage(role="system", content="You are Captain Byte, a cheerful pirate.")]
    for n in range(size - 2):
        role = "user" if n % 2 == 0 else "assistant"
        content = f"message {n}: what is the weather on deck?"
        messages.append(PromptMessage(role=role, content=content))
    messages.append(PromptMessage(role="user", content="What is the weather like on deck today?"))
    return messages


async def measure(call: Callable[[], Awaitable[str]], calls: int) -> tuple[float, float]:
    """(CPU µs per call, wall µs per call)."""
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
    langchain_run: ChatModel
    plain_lane: ChatModel

    async def aclose(self) -> None:
        await self.http.aclose()
        await self.sdk.close()
        await self.langchain_run.aclose()
        await self.plain_lane.aclose()


def clients(base_url: str) -> Clients:
    def fastwrap(*, traced: bool) -> ChatModel:
        model, _ = build_chat_model(
            model=MODEL, provider=None, api_key="k", base_url=base_url, timeout=60,
            max_retries=2, temperature=None, traced=traced,
        )  # fmt: skip
        return model

    chain = ChatOpenAI(
        model=MODEL, base_url=base_url, api_key="k", timeout=60, max_retries=2,
        stream_usage=True, http_async_client=DefaultAsyncHttpxClient(),
    )  # fmt: skip
    return Clients(
        http=httpx.AsyncClient(base_url=base_url, headers={"authorization": "Bearer k"}),
        sdk=AsyncOpenAI(base_url=base_url, api_key="k", max_retries=2, timeout=60),
        chain=chain,
        langchain_run=fastwrap(traced=True),
        plain_lane=fastwrap(traced=False),
    )


def variants(c: Clients, size: int) -> list[tuple[str, Callable[[], Awaitable[str]]]]:
    conversation = prompt(size)
    messages: Any = [{"role": m.role, "content": m.content} for m in conversation]
    lc_messages = to_langchain(conversation)

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

    async def langchain_extra_body_argument() -> str:
        # Public API only: no messages for LangChain to convert, the SDK merges extra_body.
        return str((await c.chain.ainvoke([], extra_body={"messages": messages})).text)

    async def langchain_run() -> str:
        return (await c.langchain_run.reply(conversation)).content

    async def plain_lane() -> str:
        return (await c.plain_lane.reply(conversation)).content

    return [
        ("httpx+orjson", raw),
        ("openai SDK", openai_sdk),
        ("SDK+extra_body", openai_extra_body),
        ("LangChain", langchain),
        ("LC+extra_body arg", langchain_extra_body_argument),
        ("FW LangChain run", langchain_run),
        ("FW plain lane", plain_lane),
    ]


async def run(base_url: str, calls: int, rounds: int) -> list[tuple[int, str, float]]:
    """(prompt size, variant, median CPU µs per call) for every size and variant.

    Each round measures every variant in turn, so that a neighbour's load spreads over all.
    """
    c = clients(base_url)
    results = []
    for size in SIZES:
        calls_of = variants(c, size)
        for _, call in calls_of:
            for _ in range(200):  # warm-up
                await call()
        figures: dict[str, list[tuple[float, float]]] = {name: [] for name, _ in calls_of}
        for _ in range(rounds):
            for name, call in calls_of:
                figures[name].append(await measure(call, calls))
        for name, measured in figures.items():
            cpu = statistics.median(f[0] for f in measured)
            wall = statistics.median(f[1] for f in measured)
            print(
                f"{size:3d} messages  {name:17}  CPU {cpu:6.0f} µs  wall {wall:6.0f} µs per call",
                flush=True,
            )
            results.append((size, name, cpu))
    await c.aclose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200, help="per variant and round")
    parser.add_argument("--rounds", type=int, default=3, help="the median is reported")
    args = parser.parse_args()
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
        results = uvloop.run(run(f"http://127.0.0.1:{port}/v1", args.calls, args.rounds))
    finally:
        stub.stop()
        log.unlink(missing_ok=True)
    summary = ", ".join(f"{name} {cpu:.0f} µs" for size, name, cpu in results if size == 12)
    print(f"RESULT model call CPU with 12 messages: {summary}")


if __name__ == "__main__":
    main()
