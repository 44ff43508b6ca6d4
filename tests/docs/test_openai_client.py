"""The README's "Use it from any OpenAI client" section and examples/openai_client.py run as
written against a real `fastwrap serve` (in memory, the offline model)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.docs.test_readme import _block
from tests.support.serve import fastwrap_serve
from tests.support.services import service_missing

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with fastwrap_serve(tmp_path_factory.mktemp("served"), {"FASTWRAP_STORAGE": "memory"}) as s:
        yield s.base


@pytest.fixture
def captain_key(served: str) -> str:
    """A new tenant's key, with a character named Captain."""
    email = f"readme-{os.urandom(4).hex()}@example.com"
    signup = httpx.post(
        f"{served}/auth/signup", json={"email": email, "password": "Correct-Horse-9-battery"}
    )
    key = str(signup.json()["data"]["api_key"])
    made = httpx.post(
        f"{served}/api/characters",
        json={"name": "Captain", "agent_role": "You are a pirate."},
        headers={"x-api-key": key},
    )
    assert made.status_code == 201
    return key


def run(args: list[str], env: dict[str, str]) -> str:
    result = subprocess.run(
        args, env={**os.environ, **env}, capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    assert result.returncode == 0, result.stderr + result.stdout
    return result.stdout


def test_the_example_runs(served: str) -> None:
    out = run([sys.executable, "examples/openai_client.py"], {"FASTWRAP_URL": served})
    lines = out.splitlines()
    assert [line.split(":")[0] for line in lines] == [
        "models", "stateless", "stateful", "stateful", "streamed", "langchain",
    ]  # fmt: skip
    assert all("[offline]" in line for line in lines[1:])
    assert "tokens:" in lines[4]


def test_the_readme_python_runs(served: str, captain_key: str) -> None:
    code = _block("<!-- openai-python:start -->", "<!-- openai-python:end -->")
    out = run(
        [sys.executable, "-c", code], {"FASTWRAP_URL": served, "FASTWRAP_API_KEY": captain_key}
    )
    assert out.count("[offline]") >= 4


def test_the_readme_curl_runs(served: str, captain_key: str) -> None:
    if shutil.which("curl") is None:
        service_missing("curl is not installed")
    script = "set -euo pipefail\n" + _block(
        "<!-- openai-curl:start -->", "<!-- openai-curl:end -->"
    )
    out = run(["bash", "-c", script], {"BASE": served, "KEY": captain_key})
    assert '"object":"list"' in out
    assert '"object":"chat.completion"' in out
    assert '"conversation_id":"user-42-curl"' in out
    assert "data: [DONE]" in out
