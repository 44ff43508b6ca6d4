"""`fastwrap serve --workers 2` on the embedded default: the parent runs PostgreSQL, both workers
serve, and what one worker stores the other sees (issue 7, item 4)."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from uuid import uuid4

import pytest

from tests.support.serve import fastwrap_serve

pytestmark = pytest.mark.integration


def _call(url: str, body: dict[str, object] | None = None, key: str | None = None) -> object:
    data = json.dumps(body).encode() if body is not None else None
    headers = {"content-type": "application/json", **({"x-api-key": key} if key else {})}
    with urllib.request.urlopen(urllib.request.Request(url, data, headers), timeout=10) as r:
        return json.loads(r.read())


def test_two_workers_share_the_embedded_database(embedded_tmp_path: Path, redis_url: str) -> None:
    env = {
        "REDIS_URL": redis_url,
        "REDIS_KEY_PREFIX": f"fw-test-{uuid4().hex[:8]}:",
        "LOG_DIR": str(embedded_tmp_path / "logs"),
    }
    with fastwrap_serve(embedded_tmp_path, env, "--workers", "2") as server:
        signup = _call(
            f"{server.base}/auth/signup", {"email": "w@example.com", "password": "Correct-Horse-9!"}
        )
        key = signup["data"]["api_key"]  # type: ignore[index]
        # New connections spread over both workers; every one must know the key.
        for _ in range(20):
            listed = _call(f"{server.base}/api/characters", key=key)
            assert listed["data"]["items"] == []  # type: ignore[index]
    assert server.output.count("Started server process") == 2, server.output
    assert "Traceback" not in server.output, server.output
