"""What the benchmark's processes use, read from /proc: resident memory and CPU time."""

from __future__ import annotations

import contextlib
import os
import resource
from collections.abc import Callable
from pathlib import Path

import redis
from stack import REDIS_URL, Process, Stack


def rss_kib(pid: int) -> int:
    """Resident set size of one process, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


def children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def redis_pid() -> int:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        return int(client.info("server")["process_id"])
    finally:
        client.close()


class CpuMeter:
    """CPU seconds used by named groups of processes between start() and stop()."""

    def __init__(self, groups: dict[str, Callable[[], list[int]]]) -> None:
        self._groups = groups
        self._start: dict[str, float] = {}

    def _now(self) -> dict[str, float]:
        used = {}
        for name, pids in self._groups.items():
            total = 0.0
            for pid in pids():
                with contextlib.suppress(OSError):
                    total += cpu_seconds(pid)
            used[name] = total
        used["load generator"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime + (
            resource.getrusage(resource.RUSAGE_CHILDREN).ru_stime
        )  # wrk is the only child reaped meanwhile
        return used

    def start(self) -> None:
        self._start = self._now()

    def stop(self) -> dict[str, float]:
        end = self._now()
        return {name: end[name] - self._start.get(name, 0.0) for name in end}


def stack_meter(stack: Stack, server: Process) -> CpuMeter:
    """Server (with any workers), stub, Redis and PostgreSQL (postmaster and backends)."""
    stub = next(p for p in stack.processes if p.name == "stub")
    pg_pid = stack.pg_pid
    return CpuMeter(
        {
            "server": lambda: [server.pid, *children(server.pid)],
            "stub": lambda: [stub.pid],
            "redis": lambda: [redis_pid()],
            "postgres": lambda: [pg_pid, *children(pg_pid)] if pg_pid else [],
        }
    )
