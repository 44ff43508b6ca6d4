"""The README's commands work as written: its walk-through runs against a real `fastwrap serve`
on the zero-configuration embedded default, and its library snippet runs."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.serve import fastwrap_serve
from tests.support.services import service_missing

README = Path(__file__).resolve().parents[2] / "README.md"


def _block(start: str, end: str) -> str:
    text = README.read_text()
    section = text.split(start, 1)[1].split(end, 1)[0]
    match = re.search(r"```(?:bash|python)\n(.*?)```", section, re.S)
    assert match, f"no code block between {start} and {end}"
    return match.group(1)


@pytest.fixture
def served(embedded_tmp_path: Path) -> Iterator[str]:
    """`fastwrap serve` with no configuration at all, in an empty directory."""
    with fastwrap_serve(embedded_tmp_path, {}) as server:
        yield server.base
    assert (embedded_tmp_path / ".fastwrap").is_dir()  # the embedded default kept its data there
    assert (embedded_tmp_path / "logs" / "logfile.log").is_file()


def test_walkthrough_runs_against_the_embedded_default(served: str) -> None:
    if shutil.which("curl") is None:
        service_missing("curl is not installed")
    script = "set -euo pipefail\n" + _block(
        "<!-- walkthrough:start -->", "<!-- walkthrough:end -->"
    )
    result = subprocess.run(
        ["bash", "-c", script],
        env={**os.environ, "BASE": served},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr + result.stdout
    out = result.stdout
    assert "[offline]" in out
    assert "event: delta" in out
    assert "event: done" in out
    assert out.count('"role":"user"') == 2  # the history holds both turns
    assert '"entity_id":"hours"' in out
    assert "Polly" in out  # the end user's memory item, listed before it was erased
    assert '"memory_items":1' in out


def test_library_snippet_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BCRYPT_ROUNDS", "4")
    code = _block("## Library", "`examples/embed.py`")
    body = "async def snippet():\n" + textwrap.indent(code, "    ")
    namespace: dict[str, object] = {}
    exec(compile(body, "README.md", "exec"), namespace)
    asyncio.run(namespace["snippet"]())  # type: ignore[operator]
