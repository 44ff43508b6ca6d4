"""`fastwrap serve --workers 2` with DATABASE_URL set: does it start, serve and share state?

Starts a 2-worker server and a 1-worker server on the same PostgreSQL and Redis. Checks that
both workers come up (they migrate the same database at once, under the advisory lock), that a
tenant created through one server is usable through the other, that chat turns at 16
connections succeed, and that both workers did part of the work (their CPU time). Prints the
throughput of 2 workers against 1 in the same run.

    uv run python bench/workers.py [--seconds 8]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import httpx
from options import experiment_options, extra_env
from procfs import children, cpu_seconds
from scenario import chat_load, create_tenant, seed_conversations
from stack import start_stack

PREFIX = "w-"
CONVERSATIONS = 256


def worker_pids(supervisor: int) -> list[int]:
    """uvicorn's worker processes (spawned), not multiprocessing's resource tracker."""
    pids = []
    for pid in children(supervisor):
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
        if b"spawn_main" in cmdline and b"resource_tracker" not in cmdline:
            pids.append(pid)
    return pids


def log_problems(text: str) -> list[str]:
    return [line for line in text.splitlines() if "Traceback" in line or "ERROR" in line]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--history", type=int, default=10)
    experiment_options(parser)
    args = parser.parse_args()
    env = {"HISTORY_MAX_MESSAGES": str(args.history), **extra_env(args.env)}
    with start_stack() as stack:
        two, two_url = stack.start_fastwrap(
            env, workers=2, src=args.fastwrap_src, name="fastwrap-2-workers"
        )
        time.sleep(2.0)  # the supervisor reports ready once one worker answers
        workers = worker_pids(two.pid)
        _one, one_url = stack.start_fastwrap(env, src=args.fastwrap_src)
        tenant = create_tenant(two_url)  # made through one server ...
        shared = httpx.get(  # ... and seen by the other: one database
            f"{one_url}/api/characters", headers={"x-api-key": tenant.api_key}
        ).status_code
        seed_conversations(two_url, tenant, PREFIX, CONVERSATIONS)
        before = {pid: cpu_seconds(pid) for pid in workers}
        result_two = chat_load(
            two_url, tenant, stack.workdir, prefix=PREFIX, conversations=CONVERSATIONS,
            connections=16, seconds=args.seconds,
        )  # fmt: skip
        busy = {pid: cpu_seconds(pid) - before[pid] for pid in workers}
        result_one = chat_load(
            one_url, tenant, stack.workdir, prefix=PREFIX, conversations=CONVERSATIONS,
            connections=16, seconds=args.seconds,
        )  # fmt: skip
        problems = log_problems(two.log.read_text(errors="replace"))
        print(f"2 workers: {result_two.describe()}")
        print(f"1 worker:  {result_one.describe()}")
        print(
            "worker CPU during the 2-worker run: " + ", ".join(f"{s:.1f} s" for s in busy.values())
        )
        for line in problems[:10]:
            print(f"log: {line}")
    # Each worker did at least a fifth of the work: the supervisor spread the connections.
    both_busy = len(busy) == 2 and min(busy.values()) > 0.2 * sum(busy.values())
    works = both_busy and shared == 200 and result_two.errors == 0 and not problems
    print(
        f"RESULT fastwrap serve --workers 2 with DATABASE_URL: {len(workers)} workers, "
        f"{'works' if works else 'PROBLEM'} (both served: {both_busy}, shared database: "
        f"{shared == 200}, errors {result_two.errors}, log problems {len(problems)}); "
        f"{result_two.rps:.0f} turns/s vs {result_one.rps:.0f} with 1 worker "
        f"(x{result_two.rps / result_one.rps:.2f}) at 16 connections"
    )


if __name__ == "__main__":
    main()
