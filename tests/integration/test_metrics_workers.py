"""`fastwrap serve --workers 2`: whichever worker answers /metrics counts both workers' requests
(prometheus-client's multiprocess mode, set up by `serve`), and a previous run's files are gone."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from uuid import uuid4

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from tests.support.metrics import parse
from tests.support.serve import fastwrap_serve

pytestmark = pytest.mark.integration

ROUTE = {"method": "GET", "route": "/api/characters", "status": "200"}
# Until both workers have answered: the second may still be starting when the first is healthy.
DEADLINE_SECONDS = 90


def _get(url: str, key: str | None = None) -> bytes:
    headers = {"x-api-key": key} if key else {}
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as r:
        return bytes(r.read())


def _signup(base: str) -> str:
    body = json.dumps({"email": "m@example.com", "password": "Correct-Horse-9!"}).encode()
    request = urllib.request.Request(
        f"{base}/auth/signup", body, {"content-type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as r:
        return str(json.loads(r.read())["data"]["api_key"])


def per_worker(directory: Path) -> dict[str, float]:
    """GET /api/characters 200 as each worker recorded it in its own counter file."""
    counts = {}
    for file in directory.glob("counter_*.db"):
        alone = directory.parent / f"only-{file.stem}"
        alone.mkdir(exist_ok=True)
        shutil.copy(file, alone / file.name)
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=str(alone))
        pid = file.stem.removeprefix("counter_")
        counts[pid] = parse(generate_latest(registry).decode()).value(
            "fastwrap_http_requests_total", **ROUTE
        )
        shutil.rmtree(alone)
    return counts


def stale_run(directory: Path) -> None:
    """A counter file left by an earlier run, as another process would have written it."""
    code = (
        "from prometheus_client import CollectorRegistry, Counter\n"
        "c = Counter('fastwrap_http_requests', 'x', ['method', 'route', 'status'],"
        " registry=CollectorRegistry())\n"
        "c.labels('GET', '/api/characters', '200').inc(1000)\n"
    )
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory)}
    subprocess.run([sys.executable, "-c", code], env=env, check=True)
    assert list(directory.glob("counter_*.db"))


def test_both_workers_are_counted(tmp_path: Path, redis_url: str, pg_dsn: str) -> None:
    directory = tmp_path / "metrics"
    directory.mkdir()
    stale_run(directory)
    env = {
        "DATABASE_URL": pg_dsn,
        "EMBEDDING_DIM": "256",  # as the pg_dsn fixture migrated it
        "REDIS_URL": redis_url,
        "REDIS_KEY_PREFIX": f"fw-test-{uuid4().hex[:8]}:",
        "LOG_DIR": str(tmp_path / "logs"),
        "PROMETHEUS_MULTIPROC_DIR": str(directory),
        "RATE_LIMIT_ENABLED": "false",
    }
    with fastwrap_serve(tmp_path, env, "--workers", "2") as server:
        key = _signup(server.base)
        sent = 0
        deadline = time.monotonic() + DEADLINE_SECONDS
        while time.monotonic() < deadline:
            # Each on a new connection, several at once: while one worker is busy answering,
            # the other accepts (one at a time, the worker that just answered may take them all).
            with ThreadPoolExecutor(max_workers=8) as pool:
                list(pool.map(lambda _: _get(f"{server.base}/api/characters", key), range(40)))
            sent += 40
            counted = per_worker(directory)
            if len(counted) == 2 and all(counted.values()):
                break
            time.sleep(0.2)  # polling, as for /health: give a starting worker the CPU
        scrapes = [parse(_get(f"{server.base}/metrics").decode()) for _ in range(6)]

    assert len(counted) == 2, f"one worker served all {sent}: {server.output}"
    assert all(counted.values()), counted
    assert sum(counted.values()) == sent
    for scrape in scrapes:  # whichever worker answered, it added up both, and not the stale run
        assert scrape.value("fastwrap_http_requests_total", **ROUTE) == sent
    pids = set(counted)
    started = set(re.findall(r"Started server process \[(\d+)\]", server.output))
    assert pids <= started, server.output
