"""Count the Redis commands and PostgreSQL statements one chat turn costs, FastWrap and floor.

Redis: MONITOR on the whole server, keeping db 14's lines; a line tagged `lua` ran inside a
script, so only the others are network round trips (the floor's pipeline sends two commands in
one round trip, which MONITOR cannot show). PostgreSQL: `log_statement = 'all'` on the embedded
server; every logged statement is one round trip (asyncpg's statement cache is warm by then).

    uv run python bench/roundtrips.py [--turns 5]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import re
import subprocess
import time
from pathlib import Path

import asyncpg
import httpx
from options import experiment_options, extra_env
from scenario import CHAT_CONTENT, Tenant, create_tenant
from stack import Stack, pg_log, start_stack

MONITOR_LINE = re.compile(r'^\d+\.\d+ \[14 (?P<source>\S+)\] "(?P<command>[^"]+)"')
PG_STATEMENT = re.compile(r"LOG:  (?:execute [^:]+|statement): (?P<sql>.*)", re.DOTALL)
LOG_ENTRY = re.compile(r"\n(?=\d{4}-\d\d-\d\d )")  # every entry starts with its timestamp


def set_statement_logging(stack: Stack, on: bool) -> None:
    async def toggle() -> None:
        conn = await asyncpg.connect(stack.dsn, timeout=10)
        try:
            if on:
                await conn.execute("ALTER SYSTEM SET log_statement = 'all'")
            else:
                await conn.execute("ALTER SYSTEM RESET log_statement")
            await conn.execute("SELECT pg_reload_conf()")
        finally:
            await conn.close()

    asyncio.run(toggle())
    time.sleep(0.3)  # the reload reaches the backends at their next command


def turns(
    url: str, tenant: Tenant, conversation: str, count: int, end_user: str | None = None
) -> None:
    body = {
        "character_id": tenant.character_id,
        "content": CHAT_CONTENT,
        "conversation_id": conversation,
    }
    if end_user is not None:
        body["end_user"] = end_user
    with httpx.Client(base_url=url, headers={"x-api-key": tenant.api_key}) as http:
        for _ in range(count):
            http.post("/api/chat", json=body).raise_for_status()


def redis_counts(lines: list[str]) -> tuple[collections.Counter[str], collections.Counter[str]]:
    """(commands sent by clients, commands run inside scripts)."""
    sent: collections.Counter[str] = collections.Counter()
    scripted: collections.Counter[str] = collections.Counter()
    for line in lines:
        match = MONITOR_LINE.match(line)
        if match:
            bucket = scripted if match["source"] == "lua" else sent
            bucket[match["command"].upper()] += 1
    return sent, scripted


def pg_counts(text: str) -> collections.Counter[str]:
    counts: collections.Counter[str] = collections.Counter()
    for entry in LOG_ENTRY.split(text):
        match = PG_STATEMENT.search(entry)
        if match:
            counts[" ".join(match["sql"].split())[:70]] += 1
    return counts


def measure(
    stack: Stack,
    url: str,
    tenant: Tenant,
    conversation: str,
    count: int,
    monitor_log: Path,
    end_user: str | None = None,
) -> dict[str, collections.Counter[str]]:
    turns(url, tenant, conversation, 2, end_user)  # warm: scripts loaded, statements prepared
    time.sleep(0.3)
    redis_from = monitor_log.stat().st_size
    pg_from = pg_log(stack).stat().st_size
    turns(url, tenant, conversation, count, end_user)
    time.sleep(0.5)
    with monitor_log.open() as f:
        f.seek(redis_from)
        sent, scripted = redis_counts(f.read().splitlines())
    with pg_log(stack).open(errors="replace") as f:
        f.seek(pg_from)
        statements = pg_counts(f.read())
    return {"redis": sent, "redis_lua": scripted, "pg": statements}


def report(name: str, counts: dict[str, collections.Counter[str]], count: int) -> str:
    redis_total = sum(counts["redis"].values()) / count
    pg_total = sum(counts["pg"].values()) / count
    print(f"--- {name}: per turn")
    for what in ("redis", "redis_lua", "pg"):
        for key, n in counts[what].most_common():
            print(f"  {what:9} {n / count:5.2f}  {key}")
    return f"{name}: redis {redis_total:.2f} commands, postgres {pg_total:.2f} statements"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=5)
    parser.add_argument(
        "--end-user",
        help="FastWrap's turns name this end user (e.g. with --env VECTOR_CHAT_STORE_ENABLED=true"
        " to count what memory's recall adds; its worker's statements are counted too)",
    )
    experiment_options(parser)
    args = parser.parse_args()
    count = args.turns
    with start_stack() as stack:
        _fw, fw_url = stack.start_fastwrap(extra_env(args.env), src=args.fastwrap_src)
        tenant = create_tenant(fw_url)
        _floor, floor_url = stack.start_floor(tenant.floor_env())
        monitor_log = stack.workdir / "monitor.log"
        with monitor_log.open("wb") as out:
            monitor = subprocess.Popen(
                ["redis-cli", "-h", "127.0.0.1", "-p", "6379", "monitor"], stdout=out
            )
        try:
            set_statement_logging(stack, True)
            fw = measure(stack, fw_url, tenant, "rt-fastwrap", count, monitor_log, args.end_user)
            floor = measure(stack, floor_url, tenant, "rt-floor", count, monitor_log)
            set_statement_logging(stack, False)
        finally:
            monitor.terminate()
            monitor.wait(timeout=10)
        lines = [report("fastwrap", fw, count), report("floor", floor, count)]
    print("RESULT roundtrips per chat turn: " + "; ".join(lines))


if __name__ == "__main__":
    main()
