"""`fastwrap serve --workers 2` on the embedded default: the parent runs PostgreSQL, both workers
serve, and what one worker stores the other sees (issue 7, item 4)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from uuid import uuid4

import pytest


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _call(url: str, body: dict[str, object] | None = None, key: str | None = None) -> object:
    data = json.dumps(body).encode() if body is not None else None
    headers = {"content-type": "application/json", **({"x-api-key": key} if key else {})}
    with urllib.request.urlopen(urllib.request.Request(url, data, headers), timeout=10) as r:
        return json.loads(r.read())


def test_two_workers_share_the_embedded_database(tmp_path: Path, redis_url: str) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FASTWRAP_", "DATABASE_"))}
    env.update(
        {
            "PORT": str(port),
            "HOST": "127.0.0.1",
            "REDIS_URL": redis_url,
            "REDIS_KEY_PREFIX": f"fw-test-{uuid4().hex[:8]}:",
            "BCRYPT_ROUNDS": "4",
            "LOG_DIR": str(tmp_path / "logs"),
        }
    )
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "fastwrap"), "serve", "--workers", "2"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                _call(f"{base}/health")
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"serve --workers 2 did not start:\n{server.stdout.read()}")  # type: ignore[union-attr]
                time.sleep(0.2)
        signup = _call(
            f"{base}/auth/signup", {"email": "w@example.com", "password": "Correct-Horse-9!"}
        )
        key = signup["data"]["api_key"]  # type: ignore[index]
        # New connections spread over both workers; every one must know the key.
        for _ in range(20):
            listed = _call(f"{base}/api/characters", key=key)
            assert listed["data"]["items"] == []  # type: ignore[index]
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            output, _ = server.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            output, _ = server.communicate()
    assert output.count("Started server process") == 2, output
    assert "Traceback" not in output, output
