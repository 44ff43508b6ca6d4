"""`fastwrap serve` as a real subprocess: the console script, configured only by environment."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

# Configuration a developer's shell might carry that would stop the server being "unconfigured".
AMBIENT = ("REDIS_URL", "REDIS_HOST", "MODEL", "MODEL_KEY", "MODEL_BASE_URL", "EMBEDDING_KEY")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Served:
    base: str
    output: str = field(default="")  # everything the server printed, once it has stopped


@contextmanager
def fastwrap_serve(cwd: Path, env: dict[str, str], *args: str) -> Iterator[Served]:
    """Start `fastwrap serve ARGS` in `cwd` with a clean environment plus `env`, wait for /health
    to answer 200, and stop it with SIGTERM at the end (its output is then in `.output`)."""
    port = free_port()
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("FASTWRAP_", "DATABASE_"))}
    for name in AMBIENT:
        clean.pop(name, None)
    clean.update({"PORT": str(port), "HOST": "127.0.0.1", "BCRYPT_ROUNDS": "4", **env})
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "fastwrap"), "serve", *args],
        cwd=cwd,
        env=clean,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    served = Served(base=f"http://127.0.0.1:{port}")
    try:
        _wait_healthy(server, served.base)
        yield served
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            served.output, _ = server.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            served.output, _ = server.communicate()


def _wait_healthy(server: subprocess.Popen[str], base: str) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{base}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            output = server.stdout.read() if server.stdout else ""
            pytest.fail(f"fastwrap serve did not start:\n{output}")
        time.sleep(0.2)
