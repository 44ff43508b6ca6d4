"""Resident memory of the FastWrap server after 1,000 and after 100,000 chat turns (a leak check).

The first 1,000 turns are sent by an exact client; the rest by wrk at 16 connections in
fixed-length runs whose requests are counted, until the total passes `--turns` or the time
budget runs out (then the line says how far it got and how long that took). Conversations are
spread over 5,000 ids so that no single history grows long. RSS is read from /proc.

    uv run python bench/memory.py [--turns 100000] [--max-minutes 12]
"""

from __future__ import annotations

import argparse
import time

from options import experiment_options, extra_env
from procfs import rss_kib
from scenario import chat_load, create_tenant, seed_conversations
from stack import start_stack

PREFIX = "mem-"
CONVERSATIONS = 5_000
BASELINE_TURNS = 1_000
CHUNK_SECONDS = 30.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=100_000)
    parser.add_argument("--max-minutes", type=float, default=12.0)
    parser.add_argument("--history", type=int, default=10)
    experiment_options(parser)
    args = parser.parse_args()
    env = {"HISTORY_MAX_MESSAGES": str(args.history), **extra_env(args.env)}
    with start_stack() as stack:
        process, url = stack.start_fastwrap(env, src=args.fastwrap_src)
        tenant = create_tenant(url)
        started = time.monotonic()
        # 1,000 turns exactly: one on each of the first 1,000 conversations.
        seed_conversations(url, tenant, PREFIX, BASELINE_TURNS)
        baseline = rss_kib(process.pid)
        turns, errors = BASELINE_TURNS, 0
        print(f"after {turns} turns: RSS {baseline / 1024:.1f} MiB", flush=True)
        deadline = started + args.max_minutes * 60
        while turns < args.turns and time.monotonic() + CHUNK_SECONDS < deadline:
            result = chat_load(
                url, tenant, stack.workdir, prefix=PREFIX, conversations=CONVERSATIONS,
                connections=16, seconds=CHUNK_SECONDS,
            )  # fmt: skip
            turns += result.requests
            errors += result.errors
            print(
                f"after {turns} turns ({time.monotonic() - started:.0f} s, "
                f"{result.rps:.0f} turns/s): RSS {rss_kib(process.pid) / 1024:.1f} MiB",
                flush=True,
            )
        final = rss_kib(process.pid)
        took = time.monotonic() - started
    ratio = final / baseline
    reached = "" if turns >= args.turns else f" (time budget reached before {args.turns})"
    print(
        f"RESULT server RSS: {baseline / 1024:.1f} MiB after {BASELINE_TURNS} turns, "
        f"{final / 1024:.1f} MiB after {turns} turns{reached} in {took / 60:.1f} min; "
        f"ratio {ratio:.2f} (target <= 1.20: {'met' if ratio <= 1.2 else 'NOT met'}); "
        f"errors {errors}"
    )


if __name__ == "__main__":
    main()
