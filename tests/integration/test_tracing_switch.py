"""Tracing is opt-in: off, neither the OpenTelemetry SDK nor a driver instrumentation is imported
(FastAPI itself imports the OpenTelemetry API, which costs nothing unconfigured); on without the
`otel` extra, `fastwrap serve` stops with one line naming it (SPEC §14)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.serve import AMBIENT, free_port

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]

CHAT_WITHOUT_TRACING = """
import asyncio, sys
TRACING_MODULES = ("opentelemetry.sdk", "opentelemetry.instrumentation", "opentelemetry.exporter")
from tests.support.app import app_client, hermetic_settings, make_character, sign_up

async def main():
    async with app_client(hermetic_settings()) as api:
        alice = await sign_up(api, "alice@example.com")
        cid = await make_character(api, alice)
        for stream in (False, True):
            body = {"character_id": cid, "content": "hi", "stream": stream}
            response = await api.post("/api/chat", json=body, headers=alice.headers)
            assert response.status_code == 201, response.text
    loaded = [m for m in sys.modules if m.startswith(TRACING_MODULES)]
    import asyncpg, redis.asyncio
    patched = [
        f for f in (asyncpg.connection.Connection.execute, redis.asyncio.Redis.execute_command)
        if hasattr(f, "__wrapped__")
    ]
    print(sorted(loaded), patched)

asyncio.run(main())
"""


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FASTWRAP_", "OTEL_"))}
    for name in (*AMBIENT, "DATABASE_URL"):
        env.pop(name, None)
    return {**env, **extra}


def test_tracing_off_installs_nothing() -> None:
    done = subprocess.run(
        [sys.executable, "-c", CHAT_WITHOUT_TRACING],
        cwd=ROOT,
        env=clean_env(PYTHONPATH=str(ROOT)),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[] []"


def test_tracing_without_the_extra_stops_serve_with_one_line(tmp_path: Path) -> None:
    hidden = tmp_path / "site"
    (hidden / "opentelemetry" / "sdk").mkdir(parents=True)
    # Shadows the SDK in the namespace package, as if the extra were not installed (the API
    # stays: FastAPI needs it).
    (hidden / "opentelemetry" / "sdk" / "__init__.py").write_text("raise ImportError('absent')\n")
    env = clean_env(
        PYTHONPATH=str(hidden),
        FASTWRAP_STORAGE="memory",
        OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:4318",
        LOG_DIR=str(tmp_path / "logs"),
        HOST="127.0.0.1",
        PORT=str(free_port()),
    )
    done = subprocess.run(
        [str(Path(sys.executable).parent / "fastwrap"), "serve"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = done.stdout + done.stderr
    assert done.returncode != 0, output
    assert "Traceback" not in output, output
    lines = [line for line in output.splitlines() if "FastWrap cannot start" in line]
    assert len(lines) == 1, output
    assert "OTEL_EXPORTER_OTLP_ENDPOINT is set" in lines[0]
    assert "uv sync --extra otel" in lines[0]
