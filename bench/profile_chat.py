"""Where a chat turn's CPU goes, FastWrap and floor: py-spy under load, folded into stages.

Each server is sampled by py-spy (`uvx py-spy`, or a `py-spy` on PATH; never added to the
project) while wrk drives 16 connections of chat turns at it. The samples are folded into the
stages of a turn (a stage's share is the fraction of samples with one of its frames on the
stack) and converted to CPU milliseconds per turn with the server's measured CPU time.
The raw collapsed stacks are kept for flame graphs (e.g. speedscope.app or inferno).

    uv run python bench/profile_chat.py [--seconds 15] [--out DIR] [--target characters] [--top 40]

`--target characters` profiles `GET /api/characters` (10 characters) against the bare
one-query endpoint instead of chat turns; `--top N` also prints the N functions found on most
stacks (inclusive share), whatever stage they belong to.
"""

from __future__ import annotations

import argparse
import collections
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from options import experiment_options, extra_env
from procfs import stack_meter
from scenario import Tenant, chat_load, create_tenant, get_load, seed_conversations
from stack import Process, Stack, start_stack

PREFIX = "prof-"
FRAME = re.compile(r"^(?P<function>.*) \((?P<file>[^:()]+)(?::\d+)?\)$")

# Where the server's samples go. The top-level groups are disjoint: the request's own task;
# LangChain's generation, which it runs in a task of its own (asyncio.gather); asyncpg's reset of
# a released connection, also a task of its own; threads; and the rest (uvicorn's protocol, the
# event loop, Cython callbacks with no Python frame). The indented details are inclusive and
# may overlap: a detail's share is the fraction of samples with one of its frames on the stack.
GROUPS: list[tuple[str, str]] = [
    ("request task (FastAPI.__call__)", r"^FastAPI\.__call__ "),
    ("LangChain generation task", r"^BaseChatModel\._agenerate_with_cache "),
    ("asyncpg connection reset task", r"^PoolConnectionHolder\.release "),
    ("worker threads", r"^Thread\._bootstrap "),
]
DETAILS: list[tuple[str, str]] = [
    ("FastAPI dependencies + body", r"^solve_dependencies "),
    ("  sync dependency in threadpool", r"^run_in_threadpool "),
    ("  auth (ClientService.authenticate)", r"^ClientService\.authenticate "),
    ("character lookup (PG)", r"^PgCharacterRepository\.get "),
    ("lock + history read (Redis, one pipeline)", r"^RedisTurn\.acquire "),
    ("lock release of an abandoned turn (Redis)", r"^RedisTurn\.release "),
    ("history read (Redis)", r"^(RedisConversationStore\.get|Redis\.lrange) "),
    ("history append (Redis)", r"^(RedisTurn\.commit|Pipeline\.execute) "),
    (
        "model call, all of it",
        r"^(LangChainChatModel\.reply|BaseChatModel\._agenerate_with_cache|"
        r"BaseChatOpenAI\._create_chat_result|model_caller\.<locals>\.\w+) ",
    ),
    ("  openai SDK create()", r"^AsyncCompletions\.create "),
    ("    request transform", r"^async_maybe_transform "),
    ("    httpx send + receive", r"^AsyncClient\.send "),
    ("  LangChain result (thread)", r"^BaseChatOpenAI\._create_chat_result "),
    ("response body (turn_out, dumps)", r"^(turn_out|BaseModel\.model_dump_json|json_response) "),
]
REST = "event loop, protocols, other"


def py_spy() -> list[str]:
    found = shutil.which("py-spy")
    if found:
        return [found]
    if shutil.which("uvx"):
        return ["uvx", "py-spy"]
    raise SystemExit("py-spy not found: install uv (for uvx) or py-spy outside the project")


def record(process: Process, seconds: float, output: Path) -> subprocess.Popen[bytes]:
    argv = [
        *py_spy(), "record", "--pid", str(process.pid), "--duration", f"{seconds:.0f}",
        "--rate", "200", "--format", "raw", "--output", str(output), "--gil",
    ]  # fmt: skip
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def fold(collapsed: Path) -> tuple[int, collections.Counter[str]]:
    """(samples, samples per group and detail)."""
    total = 0
    stages: collections.Counter[str] = collections.Counter()
    groups = [(name, re.compile(pattern)) for name, pattern in GROUPS]
    details = [(name, re.compile(pattern)) for name, pattern in DETAILS]
    for line in collapsed.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        n = int(count)
        total += n
        frames = [m["function"] + " " for f in stack.split(";") if (m := FRAME.match(f))]
        group = next((g for g, p in groups if any(p.match(f) for f in frames)), REST)
        stages[group] += n
        for name, pattern in details:
            if any(pattern.match(frame) for frame in frames):
                stages[name] += n
    return total, stages


def top_frames(collapsed: Path, count: int) -> list[tuple[str, float]]:
    """The `count` functions on most stacks, with the share of stacks they are on."""
    total = 0
    seen: collections.Counter[str] = collections.Counter()
    for line in collapsed.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        total += int(n)
        for function in {m["function"] for f in stack.split(";") if (m := FRAME.match(f))}:
            seen[function] += int(n)
    return [(f, c / max(1, total)) for f, c in seen.most_common(count)]


def profile(
    name: str, process: Process, url: str, stack: Stack, tenant: Tenant, args: argparse.Namespace
) -> str:
    output = args.out / f"{name}.collapsed.txt"
    meter = stack_meter(stack, process)
    spy = record(process, args.seconds, output)
    time.sleep(1.0)  # py-spy attaches
    meter.start()
    if args.target == "characters":
        result = get_load(
            f"{url}/api/characters", tenant, stack.workdir, connections=16, seconds=args.seconds
        )
    else:
        result = chat_load(
            url, tenant, stack.workdir, prefix=PREFIX, conversations=256,
            connections=16, seconds=args.seconds,
        )  # fmt: skip
    used = meter.stop()
    _, err = spy.communicate(timeout=120)
    if not output.exists():
        raise SystemExit(f"py-spy wrote nothing: {err.decode(errors='replace')}")
    total, stages = fold(output)
    cpu_ms = used["server"] / result.requests * 1000
    print(f"--- {name}: {result.describe()}; server CPU {cpu_ms:.2f} ms/turn, {total} samples")
    rows = [name for name, _ in GROUPS] + [REST, ""] + [name for name, _ in DETAILS]
    for stage in rows:
        share = stages[stage] / total if total else 0.0
        if stage == "":
            print("  of which (inclusive, overlapping):")
        elif stages[stage]:
            print(f"  {stage:40} {share * 100:5.1f}%  {share * cpu_ms:6.2f} ms/turn")
    if args.top:
        print(f"  the {args.top} functions on most stacks (inclusive):")
        for function, share in top_frames(output, args.top):
            print(f"  {share * 100:5.1f}%  {share * cpu_ms:6.3f} ms  {function}")
    print(f"  collapsed stacks: {output}")
    return f"{name} {cpu_ms:.2f} ms CPU/turn"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--history", type=int, default=10)
    parser.add_argument(
        "--floor-llm", choices=("sdk", "extra-body", "httpx"), default="extra-body",
        help="how the floor calls the model (see floor_app.py)",
    )  # fmt: skip
    parser.add_argument("--out", type=Path, default=None, help="where to keep the stacks")
    parser.add_argument("--target", choices=("chat", "characters"), default="chat")
    parser.add_argument("--top", type=int, default=0, help="also list the N hottest functions")
    experiment_options(parser)
    args = parser.parse_args()
    args.out = args.out or Path(tempfile.mkdtemp(prefix="fastwrap-profile-"))
    args.out.mkdir(parents=True, exist_ok=True)
    history = {"HISTORY_MAX_MESSAGES": str(args.history)}
    with start_stack() as stack:
        fw_process, fw_url = stack.start_fastwrap(
            history | extra_env(args.env), src=args.fastwrap_src
        )
        characters = args.target == "characters"
        tenant = create_tenant(fw_url, extra_characters=9 if characters else 0)
        floor_process, floor_url = stack.start_floor(
            tenant.floor_env() | history | {"FLOOR_LLM": args.floor_llm}
        )
        lines = []
        for name, process, url in (
            ("floor", floor_process, floor_url),
            ("fastwrap", fw_process, fw_url),
        ):
            if not characters:
                seed_conversations(url, tenant, PREFIX, 256, turns=(args.history + 1) // 2)
            lines.append(profile(name, process, url, stack, tenant, args))
    print("RESULT profile under py-spy: " + "; ".join(lines) + f" (stacks in {args.out})")


if __name__ == "__main__":
    main()
