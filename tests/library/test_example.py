"""examples/embed.py runs end to end: as the plain program it is, and on PostgreSQL in-process."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

from fastwrap.settings import Settings
from tests.support.app import hermetic_settings

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "embed.py"
SETTING_NAMES = {name.upper() for name in Settings.model_fields}


def check_output(out: str, storage: str) -> None:
    assert "search: opening-hours" in out
    assert "character: Pirate" in out
    assert "turn 1: [offline]" in out
    assert "| turn 2 |" in out  # the second turn saw the first
    assert "sources: ['opening-hours']" in out
    assert "turn 3 (streamed): [offline]" in out
    assert "history: 6 messages" in out
    assert f"postgres={storage}" in out


def test_the_example_runs_as_a_program_in_memory(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k.upper() not in SETTING_NAMES}
    env |= {"FASTWRAP_STORAGE": "memory", "BCRYPT_ROUNDS": "4"}

    result = subprocess.run(
        [sys.executable, str(EXAMPLE)],
        cwd=tmp_path,  # no .env, and nothing written into the checkout
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    check_output(result.stdout, "memory")
    assert list(tmp_path.iterdir()) == []


async def test_the_example_runs_on_postgres(
    pg_dsn: str, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = importlib.util.spec_from_file_location("embed_example", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)

    await example.main(hermetic_settings(fastwrap_storage="postgres", database_url=pg_dsn))

    check_output(capsys.readouterr().out, "postgres")
